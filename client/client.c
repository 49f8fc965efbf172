/*
 * The client context: builds and tears down the long-lived parts (curl
 * driver, one poller per proxy, the advertisement, metrics and their
 * listener) in one place, and runs the shutdown sequence.  The
 * advertisement (targets_advert of the targets set and --label, its JSON
 * and tag) is built at start and rebuilt on every change of the set; a
 * change is passed to every poller, which re-advertises to the proxies
 * that asked.  Shutdown (issue 12): the first signal stops every poller
 * (their parked polls are cancelled) and waits up to --shutdown-timeout
 * for scrapes in flight to be pushed; then the jobs still fetching are
 * answered 503 and pushed within LIMIT_SHUTDOWN_PUSH_MS; a second signal,
 * or that deadline, breaks the loop.  client_free cancels what is left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "client.h"
#include "clientstatus.h"
#include "config.h"
#include "curlev.h"
#include "duration.h"
#include "httpreq.h"
#include "httpserver.h"
#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "netpolicy.h"
#include "poller.h"
#include "procstat.h"
#include "job.h"
#include "targets.h"
#include "targetsctl.h"
#include "version.h"

static double
client_scrapes_gauge_cb(void *arg)
{
	const struct client	*c = arg;

	return (double)c->njobs;
}

static void
client_metrics_add(struct client *c)
{
	struct metrics	*r = c->metrics;

	c->m.scrapes = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_scrapes_total",
	    "Scrape requests received from the proxy.", NULL, NULL, 0);
	c->m.scrape_errors = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_scrape_errors_total",
	    "Number of scrape errors", NULL, NULL, 0);
	c->m.push_errors = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_push_errors_total",
	    "Number of push errors", NULL, NULL, 0);
	c->m.poll_errors = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_poll_errors_total",
	    "Number of poll errors", NULL, NULL, 0);
	c->m.polls = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_polls_total",
	    "Polls sent to the proxy.", NULL, NULL, 0);
	c->m.in_flight = metrics_add(r, METRIC_GAUGE,
	    "pushprox_client_scrapes_in_flight",
	    "Scrapes admitted and not yet finished (target fetch or push).",
	    NULL, NULL, 0);
	c->m.proxy_up = metrics_add(r, METRIC_GAUGE,
	    "pushprox_client_proxy_up",
	    "1 while the last poll of this proxy succeeded or one is parked "
	    "at it, else 0.",
	    "proxy", NULL, 0);
	c->m.proxy_polls = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_proxy_polls_total",
	    "Polls sent to this proxy.", "proxy", NULL, 0);
	c->m.proxy_poll_errors = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_proxy_poll_errors_total",
	    "Failed polls of this proxy.", "proxy", NULL, 0);
	c->m.proxy_scrapes = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_proxy_scrapes_total",
	    "Scrape requests received from this proxy.", "proxy", NULL, 0);
	c->m.proxy_push_errors = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_proxy_push_errors_total",
	    "Failed pushes to this proxy.", "proxy", NULL, 0);
	c->m.proxy_adverts = metrics_add(r, METRIC_COUNTER,
	    "pushprox_client_proxy_advertisements_total",
	    "POST /advertise sent to this proxy, by outcome (stored, "
	    "unsupported, refused, failed).", "proxy,outcome", NULL, 0);
	metrics_add_gauge_cb(r, "pushprox_client_scrapes_open",
	    "Scrapes in memory, including refused ones being answered.",
	    client_scrapes_gauge_cb, c);
	procstat_register(r);
}

/* GET /metrics, and GET or HEAD / (the status page, clientstatus.c). */
static void
client_http_request_cb(struct httpreq *req, void *arg)
{
	struct client	*c = arg;
	struct buf	 out;
	const char	*target = httpreq_target(req);

	if (target[0] == '/' && (target[1] == '\0' || target[1] == '?')) {
		if (strcmp(httpreq_method(req), "GET") == 0 ||
		    strcmp(httpreq_method(req), "HEAD") == 0)
			clientstatus_reply(c, req);
		else {
			(void)httpreq_add_header(req, "Allow", "GET, HEAD");
			httpreq_reply_text(req, 405,
			    "405 method not allowed\n");
		}
		return;
	}
	if (strcmp(httpreq_method(req), "GET") != 0 ||
	    strncmp(target, "/metrics", 8) != 0 ||
	    (target[8] != '\0' && target[8] != '?')) {
		httpreq_reply_text(req, 404, "404 page not found\n");
		return;
	}
	buf_init(&out, LIMIT_CLIENT_METRICS_BYTES);
	if (metrics_write(c->metrics, &out) == -1)
		httpreq_reply_text(req, 500, "metrics too large\n");
	else
		httpreq_reply(req, 200, METRICS_CONTENT_TYPE, buf_cstr(&out),
		    out.len);
	buf_release(&out);
}

/*
 * --shutdown-timeout is over: the jobs still fetching are answered 503
 * and pushed within LIMIT_SHUTDOWN_PUSH_MS; that deadline breaks the loop.
 */
static void
client_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	struct job	*j, *next;
	struct timeval	 tv;
	char		 n[32];

	snprintf(n, sizeof(n), "%zu", c->njobs);
	if (c->draining) {
		log_warn("shutdown: pushes still running, cancelling them",
		    "scrapes", n);
		event_base_loopbreak(c->base);
		return;
	}
	log_warn("shutdown timeout over, answering the scrapes still "
	    "fetching with 503", "scrapes", n, "flag", "--shutdown-timeout");
	c->draining = true;
	duration_to_timeval(LIMIT_SHUTDOWN_PUSH_MS, &tv);
	if (evtimer_add(c->grace, &tv) == -1) {
		event_base_loopbreak(c->base);
		return;
	}
	/* job_cancel may close j (a failed push); next is read first. */
	for (j = TAILQ_FIRST(&c->jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		job_cancel(j, "pushprox-client: shutting down, the scrape did "
		    "not finish within --shutdown-timeout");
	}
}

/*
 * Rebuilds c->advert from the targets set and --label.  Without either
 * there is nothing to advertise.  0, or -1 with the old one kept.
 */
static int
client_advert_build(struct client *c)
{
	struct advert	*a;
	char		 err[LIMIT_ERROR_BODY_BYTES], tag[ADVERT_MAX_TAG + 1];
	char		*json;
	size_t		 len;

	if (c->targets == NULL && c->cfg->labels.n == 0) {
		free(c->advert.json);
		memset(&c->advert, 0, sizeof(c->advert));
		return 0;
	}
	if ((a = targets_advert(c->targets, &c->cfg->labels,
	    PUSHPROX_VERSION, err, sizeof(err))) == NULL) {
		log_error("cannot build the advertisement", "err", err);
		return -1;
	}
	json = advert_encode(a, &len);
	if (json == NULL || advert_hash(a, tag) == -1) {
		log_error("cannot build the advertisement", "err",
		    "out of memory for its JSON");
		free(json);
		advert_free(a);
		return -1;
	}
	free(c->advert.json);
	c->advert.json = json;
	c->advert.len = len;
	c->advert.ntargets = a->ntargets;
	snprintf(c->advert.tag, sizeof(c->advert.tag), "%s", tag);
	advert_free(a);
	return 0;
}

/* One poller per --proxy-url; 0 or -1 (logged). */
static int
client_pollers_new(struct client *c)
{
	size_t	 i;

	if ((c->pollers = calloc(c->cfg->nproxies, sizeof(*c->pollers))) ==
	    NULL) {
		log_error("cannot create the client", "err",
		    "out of memory for its pollers");
		return -1;
	}
	for (i = 0; i < c->cfg->nproxies; i++, c->npollers++)
		if ((c->pollers[i] = poller_new(c, &c->cfg->proxies[i])) ==
		    NULL) {
			log_error("cannot create the client", "err", "cannot "
			    "set up a poller (out of memory for its timer)",
			    "proxy", c->cfg->proxies[i].url_log);
			return -1;
		}
	return 0;
}

struct client *
client_new(struct event_base *base, const struct client_config *cfg)
{
	struct client	*c;
	bool		 failed = false;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("cannot create the client", "err",
		    "out of memory for its context");
		return NULL;
	}
	c->base = base;
	c->cfg = cfg;
	TAILQ_INIT(&c->jobs);
	c->metrics = metrics_new();
	if (c->metrics == NULL) {
		log_error("cannot create the client", "err",
		    "out of memory for its metrics");
		goto fail;
	}
	client_metrics_add(c);
	if ((c->status = clientstatus_new()) == NULL) {
		log_error("cannot create the client", "err",
		    "out of memory for its status page");
		goto fail;
	}
	if ((c->net = netpolicy_new_env()) == NULL) {
		log_error("cannot create the client", "err",
		    "out of memory for its proxy settings");
		goto fail;
	}
	if ((c->cev = curlev_new(base)) == NULL) {
		log_error("cannot create the client", "err", "cannot set up "
		    "the curl multi handle and its timer (out of memory?)");
		goto fail;
	}
	if ((c->fqdn_header = malloc(LIMIT_MAX_FQDN_BYTES + 32)) == NULL) {
		log_error("cannot create the client", "err",
		    "out of memory for its headers");
		goto fail;
	}
	snprintf(c->fqdn_header, LIMIT_MAX_FQDN_BYTES + 32,
	    "Pushprox-Fqdn: %s", cfg->fqdn);
	if (client_pollers_new(c) == -1)
		goto fail;
	if ((c->grace = evtimer_new(base, client_grace_cb, c)) == NULL) {
		log_error("cannot create the client", "err", "cannot create "
		    "the shutdown timer (out of memory)");
		goto fail;
	}
	if ((c->tctl = targetsctl_new(c, &failed)) == NULL && failed)
		goto fail;
	if (client_advert_build(c) == -1)
		goto fail;
	if (c->advert.json != NULL) {
		char	 n[32];

		snprintf(n, sizeof(n), "%zu", c->advert.ntargets);
		log_info("advertising targets to the proxies that ask", "tag",
		    c->advert.tag, "targets", n);
	}
	return c;
fail:
	client_free(c);
	return NULL;
}

int
client_start(struct client *c)
{
	struct httpserver_config	 hc = {
		.max_connections = LIMIT_CLIENT_METRICS_CONNECTIONS,
		.max_header_bytes = LIMIT_MAX_HEADER_BYTES,
		.idle_timeout_ms = LIMIT_IDLE_TIMEOUT_MS,
		.read_timeout_ms = LIMIT_READ_TIMEOUT_MS,
		.read_header_timeout_ms = LIMIT_READ_HEADER_TIMEOUT_MS,
		.write_timeout_ms = LIMIT_WRITE_TIMEOUT_MS,
	};

	if (c->cfg->metrics_addr != NULL && c->cfg->metrics_addr[0] != '\0') {
		c->http = httpserver_new(c->base, &hc, client_http_request_cb,
		    c);
		if (c->http == NULL ||
		    httpserver_listen(c->http, c->cfg->metrics_addr) == -1) {
			log_error("cannot serve metrics and the status page",
			    "flag", "--metrics-addr", "addr",
			    c->cfg->metrics_addr);
			return -1;
		}
		log_info("serving metrics and the status page", "addr",
		    c->cfg->metrics_addr);
	}
	for (size_t i = 0; i < c->npollers; i++)
		poller_start(c->pollers[i]);
	return 0;
}

void
client_shutdown(struct client *c)
{
	struct timeval	 tv;
	char		 n[32], wait[32];

	if (c->stopping || c->njobs == 0) {
		event_base_loopbreak(c->base);
		return;
	}
	c->stopping = true;
	for (size_t i = 0; i < c->npollers; i++)
		poller_stop(c->pollers[i]);
	if (c->http != NULL)
		httpserver_stop_listening(c->http);
	snprintf(n, sizeof(n), "%zu", c->njobs);
	duration_format(c->cfg->shutdown_timeout_ms, wait, sizeof(wait));
	log_info("polling stopped, waiting for scrapes in flight", "scrapes",
	    n, "timeout", wait);
	duration_to_timeval(c->cfg->shutdown_timeout_ms, &tv);
	if (evtimer_add(c->grace, &tv) == -1)
		event_base_loopbreak(c->base);
}

void
client_targets_changed(struct client *c)
{
	char	 old[ADVERT_MAX_TAG + 1];

	snprintf(old, sizeof(old), "%s", c->advert.tag);
	if (client_advert_build(c) == -1) {
		log_warn("targets changed, keeping the previous advertisement",
		    "tag", old);
		return;
	}
	if (strcmp(old, c->advert.tag) == 0)
		return;
	log_info("targets changed", "old_tag", old, "tag", c->advert.tag);
	for (size_t i = 0; i < c->npollers && !c->stopping; i++)
		poller_advert_changed(c->pollers[i]);
}

void
client_job_gone(struct client *c)
{
	if (c->stopping) {
		if (c->njobs == 0)
			event_base_loopbreak(c->base);
		return;
	}
	for (size_t i = 0; i < c->npollers; i++)
		poller_job_done(c->pollers[i]);
}

size_t
client_polls_open(const struct client *c)
{
	size_t	 i, n = 0;

	for (i = 0; i < c->npollers; i++)
		n += poller_polling(c->pollers[i]);
	return n;
}

size_t
client_proxies_up(const struct client *c)
{
	size_t	 i, n = 0;

	for (i = 0; i < c->npollers; i++)
		n += poller_up(c->pollers[i]);
	return n;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	c->stopping = true;
	for (size_t i = 0; i < c->npollers; i++)
		poller_stop(c->pollers[i]);
	/* Jobs first: they name their poller's proxy until closed. */
	while (!TAILQ_EMPTY(&c->jobs))
		job_close(TAILQ_FIRST(&c->jobs), "shutdown");
	for (size_t i = 0; i < c->npollers; i++)
		poller_free(c->pollers[i]);
	free(c->pollers);
	free(c->fqdn_header);
	free(c->advert.json);
	httpserver_free(c->http);
	targetsctl_free(c->tctl);
	curlev_free(c->cev);
	netpolicy_free(c->net);
	if (c->grace != NULL)
		event_free(c->grace);
	metrics_free(c->metrics);
	clientstatus_free(c->status);
	free(c);
}
