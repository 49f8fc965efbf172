/*
 * The proxy's own metrics, served on GET /metrics.  Names of the
 * reference PushProx are kept so existing dashboards work; the rest tell
 * an operator what is waiting, what failed and how much was relayed.
 */
#ifndef PUSHPROX_STATS_H
#define PUSHPROX_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "pushprox_limits.h"

struct httpreq;
struct metric;
struct metrics;
struct proxy;
struct strmap;

/* Per-client outcomes: the first STATS_OUTCOMES names, then "other". */
#define STATS_OUTCOMES	7
#define STATS_BUCKETS	11

/* One finished scrape, for the status page. */
struct stats_recent {
	int64_t		 at_ms;
	int64_t		 latency_ms;
	uint64_t	 bytes;		/* relayed for the client since the
					   previous outcome */
	unsigned	 outcome;	/* index into stats_outcome_names */
};

/*
 * What the proxy counts per registered client (bounded: only clients the
 * registry lists, pruned with them; a fixed ring of recent outcomes).
 */
struct stats_client {
	uint64_t		 by_outcome[STATS_OUTCOMES + 1];
	uint64_t		 buckets[STATS_BUCKETS + 1]; /* latency, +Inf */
	double			 latency_sum_s;
	uint64_t		 bytes;
	uint64_t		 bytes_since;	/* since the last outcome */
	size_t			 in_flight;
	struct stats_recent	 recent[LIMIT_STATS_RECENT]; /* a ring */
	size_t			 nrecent;	/* <= LIMIT_STATS_RECENT */
	size_t			 next;		/* the ring's next slot */
};

extern const char *const stats_outcome_names[STATS_OUTCOMES + 1];

struct stats {
	struct proxy	*px;
	struct strmap	*clients;	/* fqdn -> struct stats_client */
	struct metrics	*reg;
	struct metric	*http_requests;	/* {code,path} */
	struct metric	*http_duration;	/* {path} */
	struct metric	*proxied;	/* {code} */
	struct metric	*scrapes;	/* {outcome} */
	struct metric	*polls;		/* {outcome} */
	struct metric	*pushes;	/* {outcome} */
	struct metric	*relayed_bytes;
};

/* Returns the registry with every family; caller frees with stats_free. */
struct stats *stats_new(struct proxy *px);

/* NULL is a no-op. */
void stats_free(struct stats *st);

/* Answers GET /metrics. */
void stats_reply(struct stats *st, struct httpreq *req);

/* Counts a reply by endpoint; the httpserver reply hook. */
void stats_reply_cb(struct httpreq *req, int status, void *arg);

/* A scrape for fqdn began (counted per client if fqdn is registered). */
void stats_scrape_begin(struct stats *st, const char *fqdn);

/* A scrape for fqdn ended with outcome after latency_ms. */
void stats_scrape_done(struct stats *st, const char *fqdn,
    const char *outcome, int64_t latency_ms);

/* len body bytes were relayed from fqdn's client to a scraper. */
void stats_relayed(struct stats *st, const char *fqdn, size_t len);

/* Forgets the counts of clients the registry no longer lists as live. */
void stats_prune(struct stats *st, int64_t now_ms);

/* fqdn's counts (borrowed until the next stats call), or NULL. */
const struct stats_client *stats_client(const struct stats *st,
    const char *fqdn);

#endif
