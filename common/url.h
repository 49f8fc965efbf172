/*
 * Absolute http(s) URLs as found in proxy-form request lines
 * ("http://node1.example:9100/metrics?x=1"), split with http_parser's URL
 * parser.  Hosts keep no brackets (IPv6 "::1"); path_query always starts
 * with "/".
 */
#ifndef PUSHPROX_URL_H
#define PUSHPROX_URL_H

#include <stdbool.h>
#include <stdint.h>

struct url {
	char		 scheme[8];	/* "http" or "https", lower case */
	char		 host[256];	/* lower case, no brackets */
	uint16_t	 port;		/* explicit, or the scheme's default */
	bool		 has_port;
	char		*path_query;	/* owned: "/metrics?x=1" */
};

/* Parses an absolute URL; returns 0, or -1 with *why set to a reason. */
int url_parse(const char *s, struct url *u, const char **why);

/* Frees what url_parse allocated. */
void url_release(struct url *u);

#endif
