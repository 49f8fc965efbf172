/*
 * A scrape request as the proxy hands it to a client in a poll answer: an
 * HTTP/1.1 GET in proxy form with an Id header.  Parsing is pure (no I/O)
 * and validates everything the client is about to act on: the method, the
 * absolute URL, that the URL's host is this client's FQDN, the _scheme
 * parameter and the timeout, and for port 0 (a named target) that the
 * path is "/pushprox/targets/NAME/metrics" with a valid NAME and no query.
 * It also decides which headers go on to the
 * target, and whether a target's redirect may be followed
 * (scrapereq_redirect, for --scrape.redirects).
 */
#ifndef PUSHPROX_CLIENT_SCRAPEREQ_H
#define PUSHPROX_CLIENT_SCRAPEREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpmsg.h"

struct scrapereq {
	char			*id;		/* NULL if none could be read */
	char			*target; /* the request line's URL, or NULL */
	char			*url; /* what to fetch, _scheme applied */
	uint16_t		 port; /* of url, explicit or default */
	char			*path;		/* of url, without the query */
	int64_t			 timeout_ms;
	struct httpmsg_header	*headers;	/* to forward; owned strings */
	size_t			 nheaders;
	char			*error; /* NULL: valid and ready to run */
	/* to push with error: 500, or 404 for a bad named-target path */
	int			 error_status;
	/*
	 * A named target (port 0, docs/protocol.md 2.5): its NAME from
	 * "/pushprox/targets/NAME/metrics", else NULL (a plain scrape).
	 */
	char			*name;
};

/*
 * Parses a poll answer body.  Returns NULL only on ENOMEM; otherwise a
 * request the caller frees with scrapereq_free.  A request that cannot be
 * run has error set (what failed and why); if it still has an id, the
 * caller can answer the proxy with that error.
 */
struct scrapereq *scrapereq_parse(const char *body, size_t len,
    const char *fqdn, int64_t default_timeout_ms);

/* --scrape.redirects, in the order of scrapereq_redirects_names. */
enum scrapereq_redirects {
	SCRAPEREQ_REDIRECTS_SAME_ORIGIN,	/* scheme, host and port kept */
	SCRAPEREQ_REDIRECTS_NONE,
	SCRAPEREQ_REDIRECTS_ANY,
};

extern const char *const scrapereq_redirects_names[];

/* The next hop of a redirect that may be followed. */
struct scrapereq_hop {
	char		*url;		/* rebuilt from its parsed parts */
	uint16_t	 port;		/* explicit, or the scheme's default */
	char		*path;		/* without the query */
	bool		 same_origin;	/* scheme, host and port as before */
};

/* Only these are followed (as Go's client does): 301 302 303 307 308. */
bool scrapereq_is_redirect(long status);

/*
 * Vets a redirect from the URL fetched (from) to location (absolute, as
 * curl resolved the Location header) under policy (enum
 * scrapereq_redirects).  Returns 0 with next filled (release it with
 * scrapereq_hop_release); the URL to fetch is rebuilt from what was
 * checked, so no second parser can read location differently.  Or -1
 * with *why saying why it is refused (a static string).  The hop count
 * and --scrape.allow are the caller's to check.
 */
int scrapereq_redirect(const char *from, const char *location, int policy,
    struct scrapereq_hop *next, const char **why);

/* Frees what scrapereq_redirect stored in h. */
void scrapereq_hop_release(struct scrapereq_hop *h);

/*
 * The timeout of the target transfer for a scrape timeout: a margin of
 * min(500 ms, 10 %) less, so that a target's timeout is pushed as a 500
 * before the proxy's own deadline; at least 1 ms.
 */
int64_t scrapereq_target_timeout(int64_t timeout_ms);

/* Frees the request. NULL is a no-op. */
void scrapereq_free(struct scrapereq *r);

#endif
