/*
 * Absolute http(s) URLs as found in proxy-form request lines
 * ("http://node1.example:9100/metrics?x=1"), split with http_parser's URL
 * parser.  Hosts keep no brackets (IPv6 "::1"); path_query always starts
 * with "/".  Also the two textual helpers the client needs for its proxy
 * URL: a sibling path ("poll", "push") and a copy fit for logs.
 */
#ifndef PUSHPROX_URL_H
#define PUSHPROX_URL_H

#include <stdbool.h>
#include <stdint.h>

struct url {
	char		 scheme[8];	/* "http" or "https", lower case */
	char		 host[256];	/* lower case, no brackets */
	uint16_t	 port;		/* explicit (0: a named target), or the
					   scheme's default */
	bool		 has_port;
	char		*path_query;	/* owned: "/metrics?x=1" */
};

/* Parses an absolute URL; returns 0, or -1 with *why set to a reason. */
int url_parse(const char *s, struct url *u, const char **why);

/*
 * Whether u names a port one can connect to: not port 0, which url_parse
 * accepts for the named-target route only.
 */
bool url_connectable(const struct url *u);

/* Frees what url_parse allocated. */
void url_release(struct url *u);

/*
 * Resolves a relative name against base as Go's url.ResolveReference does
 * for a single path segment: everything after the last '/' of the path is
 * replaced, the query and fragment dropped.  Returns a string the caller
 * frees, or NULL if base has no "://" (or on ENOMEM).
 */
char *url_resolve_name(const char *base, const char *name);

/*
 * A copy of url without its userinfo ("user:pass@"), for logs; url as is
 * if it has none.  Returns a string the caller frees, or NULL on ENOMEM.
 */
char *url_strip_userinfo(const char *url);

#endif
