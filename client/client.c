/*
 * The client context: builds and tears down the long-lived parts (curl
 * driver, poller, metrics and their listener) in one place, and runs the
 * shutdown sequence.  Shutdown is two-step: the first signal stops polling
 * and waits (at most LIMIT_SHUTDOWN_GRACE_MS) for scrapes in flight to be
 * pushed; the second, or the deadline, breaks the loop.  client_free then
 * cancels whatever is left.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "client.h"
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
#include "targetsctl.h"

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
	metrics_add_gauge_cb(r, "pushprox_client_scrapes_open",
	    "Scrapes in memory, including refused ones being answered.",
	    client_scrapes_gauge_cb, c);
	procstat_register(r);
}

/* GET /metrics, nothing else. */
static void
client_http_request_cb(struct httpreq *req, void *arg)
{
	struct client	*c = arg;
	struct buf	 out;
	const char	*target = httpreq_target(req);

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

static void
client_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	char		 n[32];

	snprintf(n, sizeof(n), "%zu", c->njobs);
	log_warn("shutdown grace period over, cancelling scrapes",
	    "scrapes", n);
	event_base_loopbreak(c->base);
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
	if ((c->poller = poller_new(c)) == NULL) {
		log_error("cannot create the client", "err", "cannot set up "
		    "the poller (out of memory for its timer or headers)");
		goto fail;
	}
	if ((c->grace = evtimer_new(base, client_grace_cb, c)) == NULL) {
		log_error("cannot create the client", "err", "cannot create "
		    "the shutdown timer (out of memory)");
		goto fail;
	}
	if ((c->tctl = targetsctl_new(c, &failed)) == NULL && failed)
		goto fail;
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
			log_error("cannot serve metrics", "flag",
			    "--metrics-addr", "addr", c->cfg->metrics_addr);
			return -1;
		}
		log_info("serving metrics", "addr", c->cfg->metrics_addr);
	}
	poller_start(c->poller);
	return 0;
}

void
client_shutdown(struct client *c)
{
	struct timeval	 tv;
	char		 n[32];

	if (c->stopping || c->njobs == 0) {
		event_base_loopbreak(c->base);
		return;
	}
	c->stopping = true;
	poller_stop(c->poller);
	if (c->http != NULL)
		httpserver_stop_listening(c->http);
	snprintf(n, sizeof(n), "%zu", c->njobs);
	log_info("waiting for scrapes in flight", "scrapes", n);
	duration_to_timeval(LIMIT_SHUTDOWN_GRACE_MS, &tv);
	if (evtimer_add(c->grace, &tv) == -1)
		event_base_loopbreak(c->base);
}

void
client_targets_changed(struct client *c)
{
	/* The poller re-advertises (issue 10's wiring, client/poller.c). */
	(void)c;
}

void
client_job_gone(struct client *c)
{
	if (c->stopping && c->njobs == 0)
		event_base_loopbreak(c->base);
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	c->stopping = true;
	poller_free(c->poller);
	while (!TAILQ_EMPTY(&c->jobs))
		job_close(TAILQ_FIRST(&c->jobs), "shutdown");
	httpserver_free(c->http);
	targetsctl_free(c->tctl);
	curlev_free(c->cev);
	netpolicy_free(c->net);
	if (c->grace != NULL)
		event_free(c->grace);
	metrics_free(c->metrics);
	free(c);
}
