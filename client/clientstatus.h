/*
 * The client's status page (issue 12): GET / and HEAD / on
 * --metrics-addr, next to /metrics.  One server-rendered HTML page, no
 * script: the client's FQDN and version, its proxies (URL without
 * credentials, up or down, poll state, counts, advertisement state, last
 * error), its targets (from --targets.file, or the note that it scrapes
 * its own FQDN) with their labels, and its last LIMIT_CLIENT_STATUS_SCRAPES
 * scrapes, kept in a fixed ring that job_close fills.  Every string from
 * outside (URLs, labels, names, error texts) is HTML-escaped; the
 * Content-Security-Policy allows the page's one style block by its hash
 * and nothing else.  The proxy's page is proxy/status.c (status_*).
 */
#ifndef PUSHPROX_CLIENT_CLIENTSTATUS_H
#define PUSHPROX_CLIENT_CLIENTSTATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pushprox_limits.h"

struct buf;
struct client;
struct httpreq;
struct job;

/* How a scrape ended, as the page shows it. */
enum clientstatus_outcome {
	CLIENTSTATUS_OK,		/* target answered 2xx, pushed */
	CLIENTSTATUS_TARGET_STATUS,	/* target answered non-2xx, relayed */
	CLIENTSTATUS_FAILED,		/* answered with an error we wrote */
	CLIENTSTATUS_CUT,		/* target failed while streaming */
	CLIENTSTATUS_PUSH_FAILED,	/* the proxy did not take the push */
	CLIENTSTATUS_CANCELLED,		/* shutdown */
};

/* One finished scrape, copied (cut to fixed sizes) from its job. */
struct clientstatus_scrape {
	time_t			 at;		/* wall clock, when it ended */
	int64_t			 ms;		/* duration */
	int64_t			 bytes;		/* target body bytes */
	int			 status;	/* pushed status, 0: none */
	enum clientstatus_outcome outcome;
	char			 name[LIMIT_MAX_TARGET_NAME_BYTES + 1];
	char			 url[LIMIT_CLIENT_STATUS_FIELD_BYTES];
	char			 proxy[LIMIT_CLIENT_STATUS_FIELD_BYTES];
	char			 detail[LIMIT_CLIENT_STATUS_FIELD_BYTES];
};

struct clientstatus {
	struct clientstatus_scrape ring[LIMIT_CLIENT_STATUS_SCRAPES];
	size_t			 next;		/* slot of the next record */
	uint64_t		 recorded;	/* since start */
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	char			 csp[256];	/* Content-Security-Policy */
};

/* A new, empty ring; NULL on ENOMEM.  Freed with clientstatus_free. */
struct clientstatus *clientstatus_new(void);

/* Frees s. NULL is a no-op. */
void clientstatus_free(struct clientstatus *s);

/* Called by job_close (why: its reason): keeps j's outcome. s may be NULL. */
void clientstatus_record(struct clientstatus *s, const struct job *j,
    const char *why);

/* Answers GET or HEAD / with the page (or 503 naming why it cannot). */
void clientstatus_reply(struct client *c, struct httpreq *req);

/* Appends s HTML-escaped (& < > " '), for text and attributes; 0 or -1. */
int clientstatus_escape(struct buf *out, const char *s);

/*
 * Copies url into dst (size n) without its userinfo (user:password@),
 * cut at a UTF-8 character boundary if too long.
 */
void clientstatus_copy_url(char *dst, size_t n, const char *url);

#endif
