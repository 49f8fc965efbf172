/*
 * Metric families of the proxy.  Gauges that mirror live state (clients,
 * waiting polls, connections) are computed at exposition time from the
 * context, so they can never drift from the truth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"
#include "httpserver.h"
#include "log.h"
#include "metrics.h"
#include "procstat.h"
#include "proxy.h"
#include "pushprox_limits.h"
#include "registry.h"
#include "stats.h"

static const double stats_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static double
stats_clients_cb(void *arg)
{
	struct proxy *px = arg;

	return (double)registry_clients(px->registry);
}

static double
stats_polls_cb(void *arg)
{
	struct proxy *px = arg;

	return (double)registry_polls_waiting(px->registry);
}

static double
stats_queued_cb(void *arg)
{
	struct proxy *px = arg;

	return (double)registry_scrapes_waiting(px->registry);
}

static double
stats_scrapes_cb(void *arg)
{
	struct proxy *px = arg;

	return (double)px->scrapes_active;
}

static double
stats_capacity_cb(void *arg)
{
	struct proxy *px = arg;

	return (double)px->client_capacity;
}

static double
stats_conns_cb(void *arg)
{
	struct proxy *px = arg;

	return px->server == NULL ? 0 :
	    (double)httpserver_connections(px->server);
}

struct stats *
stats_new(struct proxy *px)
{
	struct stats *st;
	size_t nb = sizeof(stats_buckets) / sizeof(stats_buckets[0]);

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->reg = metrics_new()) == NULL) {
		free(st);
		return NULL;
	}
	st->http_requests = metrics_add(st->reg, METRIC_COUNTER,
	    "pushprox_http_requests_total",
	    "Number of HTTP requests to the proxy's own endpoints, by status "
	    "code and path.", "code,path", NULL, 0);
	st->http_duration = metrics_add(st->reg, METRIC_HISTOGRAM,
	    "pushprox_http_duration_seconds",
	    "Time until the reply started, by path.", "path",
	    stats_buckets, nb);
	st->proxied = metrics_add(st->reg, METRIC_COUNTER,
	    "pushproxy_proxied_requests_total",
	    "Number of scrapes proxied, by status code (name kept from the "
	    "reference PushProx).", "code", NULL, 0);
	st->scrapes = metrics_add(st->reg, METRIC_COUNTER,
	    "pushprox_scrapes_total",
	    "Scrapes by outcome: relayed, unknown_client, poll_timeout, "
	    "push_timeout, relay_timeout, relay_failed, scraper_gone.",
	    "outcome", NULL, 0);
	st->polls = metrics_add(st->reg, METRIC_COUNTER,
	    "pushprox_polls_total",
	    "Polls by outcome: scrape (answered with work), no_work (answered "
	    "204), gone (client hung up), rejected.", "outcome", NULL, 0);
	st->pushes = metrics_add(st->reg, METRIC_COUNTER,
	    "pushprox_pushes_total",
	    "Pushes by outcome: relayed, unknown_id, malformed, too_large, "
	    "discarded, failed.", "outcome", NULL, 0);
	st->relayed_bytes = metrics_add(st->reg, METRIC_COUNTER,
	    "pushprox_relayed_bytes_total",
	    "Body bytes relayed from clients to scrapers.", NULL, NULL, 0);
	metrics_add_gauge_cb(st->reg, "pushprox_proxy_clients",
	    "Number of registered (live or recently seen) clients.",
	    stats_clients_cb, px);
	metrics_add_gauge_cb(st->reg, "pushprox_polls_waiting",
	    "Polls parked, waiting for a scrape.", stats_polls_cb, px);
	metrics_add_gauge_cb(st->reg, "pushprox_scrapes_queued",
	    "Scrapes waiting for their client to poll.", stats_queued_cb, px);
	metrics_add_gauge_cb(st->reg, "pushprox_scrapes_in_flight",
	    "Scrapes not yet answered.", stats_scrapes_cb, px);
	metrics_add_gauge_cb(st->reg, "pushprox_connections",
	    "Open HTTP connections.", stats_conns_cb, px);
	metrics_add_gauge_cb(st->reg, "pushprox_proxy_client_capacity",
	    "Idle clients this proxy can hold: the open-file limit less a "
	    "reserve, at most --web.max-connections.", stats_capacity_cb, px);
	procstat_register(st->reg);
	return st;
}

void
stats_free(struct stats *st)
{
	if (st == NULL)
		return;
	metrics_free(st->reg);
	free(st);
}

void
stats_reply(struct stats *st, struct httpreq *req)
{
	struct buf out;
	char limit[32];

	buf_init(&out, LIMIT_METRICS_BYTES);
	if (metrics_write(st->reg, &out) == -1) {
		snprintf(limit, sizeof(limit), "%d", LIMIT_METRICS_BYTES);
		log_error("metrics exposition too large", "where", "/metrics",
		    "limit_bytes", limit);
		httpreq_reply_text(req, 500, "metrics exposition too large");
	} else
		httpreq_reply(req, 200, METRICS_CONTENT_TYPE, out.data,
		    out.len);
	buf_release(&out);
}

/* Maps a request target to a bounded set of path labels. */
static const char *
stats_path(const char *target)
{
	static const char *const known[] = {
		"/poll", "/push", "/clients", "/metrics",
	};
	size_t i, n;

	if (*target != '/')
		return NULL;
	n = strcspn(target, "?");
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && strncmp(target, known[i], n) == 0)
			return known[i];
	return "other";
}

void
stats_reply_cb(struct httpreq *req, int status, void *arg)
{
	struct proxy *px = arg;
	const char *path = stats_path(httpreq_target(req));
	char code[8];

	snprintf(code, sizeof(code), "%d", status);
	if (path == NULL) {
		metric_add(px->stats->proxied, 1, code);
		return;
	}
	metric_add(px->stats->http_requests, 1, code, path);
	metric_observe(px->stats->http_duration, httpreq_elapsed(req), path);
}
