/*
 * The proxy's status page, GET / (issue 12): what the proxy sees, for an
 * operator's browser.  Server-rendered HTML (no CDN, one small inline
 * script allowed by its hash), every byte of client-supplied text escaped,
 * paged and filtered on the server so 20,000 clients stay usable.
 */
#ifndef PUSHPROX_STATUS_H
#define PUSHPROX_STATUS_H

#include <stddef.h>

#include "pushprox_limits.h"

struct buf;
struct httpreq;
struct proxy;

/* The query of GET /?page=N&q=TEXT, parsed. */
struct status_query {
	size_t	page;				/* 1-based */
	char	q[LIMIT_STATUS_QUERY_BYTES + 1]; /* decoded, may be "" */
};

/*
 * Parses the query part of target (after '?'): page (default 1, capped),
 * q (percent- and '+'-decoded, cut at LIMIT_STATUS_QUERY_BYTES, NUL bytes
 * dropped).  Unknown keys are ignored.
 */
void status_parse_query(const char *target, struct status_query *sq);

/* Appends s HTML-escaped (& < > " ' as entities); -1 when out of room. */
int status_escape(struct buf *out, const char *s);

/* Answers GET / (and HEAD) with the page. */
void status_reply(struct proxy *px, struct httpreq *req);

#endif
