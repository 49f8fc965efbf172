/*
 * Metric families of the proxy.  Gauges that mirror live state (clients,
 * waiting polls, connections) are computed at exposition time from the
 * context, so they can never drift from the truth.
 *
 * Per client (issue 12): a struct stats_client for each FQDN the registry
 * lists as live when one of its scrapes begins, pruned with the registry's
 * sweep, so their number is bounded by the registry's.  They feed the
 * status page (status.c) always, and /metrics as series labelled fqdn only
 * while at most --metrics.per-client-limit clients are registered: past
 * it the families are left out whole, so a fleet's growth never turns
 * into an unbounded exposition.
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
#include "strmap.h"
#include "config.h"

static const double stats_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
_Static_assert(sizeof(stats_buckets) / sizeof(stats_buckets[0]) ==
    STATS_BUCKETS, "STATS_BUCKETS matches stats_buckets");

const char *const stats_outcome_names[STATS_OUTCOMES + 1] = {
	"relayed", "poll_timeout", "push_timeout", "relay_timeout",
	"relay_failed", "scraper_gone", "failed", "other",
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
	    (st->reg = metrics_new()) == NULL ||
	    (st->clients = strmap_new()) == NULL) {
		if (st != NULL)
			metrics_free(st->reg);
		free(st);
		return NULL;
	}
	st->px = px;
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

static void
stats_free_client_cb(const char *key, void *val, void *arg)
{
	free(val);
}

void
stats_free(struct stats *st)
{
	if (st == NULL)
		return;
	strmap_foreach(st->clients, stats_free_client_cb, NULL);
	strmap_free(st->clients);
	metrics_free(st->reg);
	free(st);
}

/* Per-client series, sorted by FQDN; -1 when out of room. */
struct stats_sorted {
	const char			**fqdn;
	const struct stats_client	**c;
	size_t				  n, cap;
};

static void
stats_collect_cb(const char *key, void *val, void *arg)
{
	struct stats_sorted *ss = arg;

	if (ss->n < ss->cap) {
		ss->fqdn[ss->n] = key;
		ss->c[ss->n++] = val;
	}
}

static int
stats_cmp_idx(const void *a, const void *b, void *arg)
{
	struct stats_sorted *ss = arg;

	return strcmp(ss->fqdn[*(const size_t *)a], ss->fqdn[*(const size_t *)
	    b]);
}

/* Writes fqdn as a label value (\\, \" and \n escaped). */
static int
stats_put_label(struct buf *out, const char *v)
{
	int rc = 0;

	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			rc |= buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			rc |= buf_puts(out, "\\n");
		else
			rc |= buf_append(out, v, 1);
	}
	return rc;
}

static int
stats_write_clients(struct stats *st, struct buf *out)
{
	struct stats_sorted ss = { 0 };
	const struct stats_client *c;
	size_t i, j, k, *idx;
	uint64_t cum;
	int rc = 0;

	ss.cap = strmap_count(st->clients);
	if (ss.cap == 0)
		return 0;
	ss.fqdn = calloc(ss.cap, sizeof(*ss.fqdn));
	ss.c = calloc(ss.cap, sizeof(*ss.c));
	idx = calloc(ss.cap, sizeof(*idx));
	if (ss.fqdn == NULL || ss.c == NULL || idx == NULL) {
		rc = -1;
		goto out;
	}
	strmap_foreach(st->clients, stats_collect_cb, &ss);
	for (i = 0; i < ss.n; i++)
		idx[i] = i;
	qsort_r(idx, ss.n, sizeof(*idx), stats_cmp_idx, &ss);
	rc |= buf_puts(out, "# HELP pushprox_client_scrapes_total Scrapes of "
	    "each client by outcome (see pushprox_scrapes_total; other: any "
	    "else).\n# TYPE pushprox_client_scrapes_total counter\n");
	for (i = 0; i < ss.n; i++)
		for (k = 0; k <= STATS_OUTCOMES; k++) {
			c = ss.c[idx[i]];
			rc |= buf_puts(out,
			    "pushprox_client_scrapes_total{fqdn=\"");
			rc |= stats_put_label(out, ss.fqdn[idx[i]]);
			rc |= buf_printf(out, "\",outcome=\"%s\"} %llu\n",
			    stats_outcome_names[k],
			    (unsigned long long)c->by_outcome[k]);
		}
	rc |= buf_puts(out, "# HELP pushprox_client_scrape_duration_seconds "
	    "Time from a scrape's arrival to its end, per client.\n"
	    "# TYPE pushprox_client_scrape_duration_seconds histogram\n");
	for (i = 0; i < ss.n; i++) {
		c = ss.c[idx[i]];
		for (j = 0, cum = 0; j <= STATS_BUCKETS; j++) {
			cum += c->buckets[j];
			rc |= buf_puts(out, "pushprox_client_scrape_duration_"
			    "seconds_bucket{fqdn=\"");
			rc |= stats_put_label(out, ss.fqdn[idx[i]]);
			if (j < STATS_BUCKETS)
				rc |= buf_printf(out, "\",le=\"%g\"} %llu\n",
				    stats_buckets[j], (unsigned long long)cum);
			else
				rc |= buf_printf(out, "\",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		rc |= buf_puts(out, "pushprox_client_scrape_duration_seconds_"
		    "sum{fqdn=\"");
		rc |= stats_put_label(out, ss.fqdn[idx[i]]);
		rc |= buf_printf(out, "\"} %.6f\n", c->latency_sum_s);
		rc |= buf_puts(out, "pushprox_client_scrape_duration_seconds_"
		    "count{fqdn=\"");
		rc |= stats_put_label(out, ss.fqdn[idx[i]]);
		rc |= buf_printf(out, "\"} %llu\n", (unsigned long long)cum);
	}
	rc |= buf_puts(out, "# HELP pushprox_client_relayed_bytes_total Body "
	    "bytes relayed from each client to scrapers.\n"
	    "# TYPE pushprox_client_relayed_bytes_total counter\n");
	for (i = 0; i < ss.n; i++) {
		rc |= buf_puts(out,
		    "pushprox_client_relayed_bytes_total{fqdn=\"");
		rc |= stats_put_label(out, ss.fqdn[idx[i]]);
		rc |= buf_printf(out, "\"} %llu\n",
		    (unsigned long long)ss.c[idx[i]]->bytes);
	}
out:
	free(ss.fqdn);
	free(ss.c);
	free(idx);
	return rc == 0 ? 0 : -1;
}

void
stats_reply(struct stats *st, struct httpreq *req)
{
	struct buf out;
	char limit[32];

	buf_init(&out, LIMIT_METRICS_BYTES);
	if (metrics_write(st->reg, &out) == -1 ||
	    (st->px->cfg->stats_per_client > 0 &&
	    registry_clients(st->px->registry) <=
	    (size_t)st->px->cfg->stats_per_client &&
	    stats_write_clients(st, &out) == -1)) {
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
		"/poll", "/push", "/clients", "/metrics", "/", "/-/healthy",
		"/-/ready",
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

void
stats_scrape_begin(struct stats *st, const char *fqdn)
{
	struct stats_client *c;
	struct proxy *px = st->px;

	if ((c = strmap_get(st->clients, fqdn)) == NULL) {
		if (!registry_is_live(px->registry, fqdn, proxy_now_ms(px)))
			return;
		/* Out of memory: this client goes uncounted, nothing else. */
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		if (strmap_put(st->clients, fqdn, c) == -1) {
			free(c);
			return;
		}
	}
	c->in_flight++;
}

void
stats_scrape_done(struct stats *st, const char *fqdn, const char *outcome,
    int64_t latency_ms)
{
	struct stats_client *c;
	struct stats_recent *r;
	double sec = (double)latency_ms / 1000.0;
	unsigned k, j;

	if ((c = strmap_get(st->clients, fqdn)) == NULL)
		return;
	if (c->in_flight > 0)
		c->in_flight--;
	for (k = 0; k < STATS_OUTCOMES; k++)
		if (strcmp(outcome, stats_outcome_names[k]) == 0)
			break;
	c->by_outcome[k]++;
	for (j = 0; j < STATS_BUCKETS && sec > stats_buckets[j]; j++)
		;
	c->buckets[j]++;
	c->latency_sum_s += sec;
	r = &c->recent[c->next];
	r->at_ms = proxy_now_ms(st->px);
	r->latency_ms = latency_ms;
	r->bytes = c->bytes_since;
	r->outcome = k;
	c->bytes_since = 0;
	c->next = (c->next + 1) % LIMIT_STATS_RECENT;
	if (c->nrecent < LIMIT_STATS_RECENT)
		c->nrecent++;
}

void
stats_relayed(struct stats *st, const char *fqdn, size_t len)
{
	struct stats_client *c;

	metric_add(st->relayed_bytes, (double)len);
	if ((c = strmap_get(st->clients, fqdn)) != NULL) {
		c->bytes += len;
		c->bytes_since += len;
	}
}

struct stats_prune {
	struct stats	*st;
	int64_t		 now_ms;
	char		**gone;
	size_t		  n, cap;
};

static void
stats_prune_cb(const char *key, void *val, void *arg)
{
	struct stats_prune *sp = arg;
	const struct stats_client *c = val;

	if (c->in_flight == 0 && sp->n < sp->cap &&
	    !registry_is_live(sp->st->px->registry, key, sp->now_ms))
		sp->gone[sp->n++] = (char *)key;
}

void
stats_prune(struct stats *st, int64_t now_ms)
{
	struct stats_prune sp = { st, now_ms, NULL, 0, 0 };
	size_t i;

	if ((sp.cap = strmap_count(st->clients)) == 0 ||
	    (sp.gone = calloc(sp.cap, sizeof(*sp.gone))) == NULL)
		return;		/* out of memory: the next sweep prunes */
	strmap_foreach(st->clients, stats_prune_cb, &sp);
	for (i = 0; i < sp.n; i++)
		free(strmap_remove(st->clients, sp.gone[i]));
	free(sp.gone);
}

const struct stats_client *
stats_client(const struct stats *st, const char *fqdn)
{
	return strmap_get(st->clients, fqdn);
}
