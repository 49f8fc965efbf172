/*
 * The proxy's own metrics, served on GET /metrics.  Names of the
 * reference PushProx are kept so existing dashboards work; the rest tell
 * an operator what is waiting, what failed and how much was relayed.
 */
#ifndef PUSHPROX_STATS_H
#define PUSHPROX_STATS_H

struct httpreq;
struct metric;
struct metrics;
struct proxy;

struct stats {
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

#endif
