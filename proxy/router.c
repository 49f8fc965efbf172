/*
 * Routing by target form, then by path and method.  Scrapes and readers of
 * /clients and /metrics pass router_authorize first: a password verified
 * before is let through at once; one never verified waits, parked, for its
 * bcrypt on the worker pool (authpool.c) while the loop serves everyone
 * else, within a per-source limit on failures (authlimit.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "advertise.h"
#include "authlimit.h"
#include "authpool.h"
#include "basicauth.h"
#include "config.h"
#include "httpreq.h"
#include "log.h"
#include "poll.h"
#include "proxy.h"
#include "push.h"
#include "registry.h"
#include "router.h"
#include "scrape.h"
#include "sd.h"
#include "stats.h"
#include "status.h"

typedef void (*router_handler)(struct proxy *, struct httpreq *);

/* The proxy's own API: origin-form paths. */
static const struct {
	const char		*path;
	const char		*method;
	enum router_dest	 dest;
	const char		*allow;		/* NULL: method only; with
						   "HEAD" in it, HEAD too */
} router_table[] = {
	{ "/poll", "POST", ROUTER_POLL, NULL },
	{ "/push", "POST", ROUTER_PUSH, NULL },
	{ "/clients", "GET", ROUTER_CLIENTS, NULL },
	{ "/metrics", "GET", ROUTER_METRICS, NULL },
	{ "/advertise", "POST", ROUTER_ADVERTISE, NULL },
	{ "/targets", "GET", ROUTER_TARGETS, NULL },
	{ "/-/healthy", "GET", ROUTER_HEALTHY, "GET, HEAD" },
	{ "/-/ready", "GET", ROUTER_READY, "GET, HEAD" },
	{ "/", "GET", ROUTER_STATUS, "GET, HEAD" },
};

/*
 * A request parked while its password is checked on the pool.  It
 * outlives the request when the connection dies during the bcrypt: the
 * worker still writes into check, so only the done callback frees it.
 */
struct router_auth {
	struct proxy		*px;
	struct httpreq		*req;		/* NULL: the request is gone */
	struct authpool_job	*job;
	router_handler		 next;
	int			 proxied;	/* Proxy-Authorization, 407 */
	char			 source[AUTHLIMIT_SOURCE_LEN];
	struct basicauth_check	 check;
};

static void	router_authorize(struct proxy *, struct httpreq *, int,
		    router_handler);

static void
router_clients(struct proxy *px, struct httpreq *req)
{
	sd_reply(px, req);
}

static void
router_targets(struct proxy *px, struct httpreq *req)
{
	sd_targets_reply(px, req);
}

static void
router_metrics(struct proxy *px, struct httpreq *req)
{
	stats_reply(px->stats, req);
}

static void
router_status(struct proxy *px, struct httpreq *req)
{
	status_reply(px, req);
}

/* While draining, new work is refused: the load balancer moves on. */
static int
router_refuse_draining(struct proxy *px, struct httpreq *req,
    const char *what)
{
	char msg[256];

	if (!px->draining)
		return 0;
	snprintf(msg, sizeof(msg), "pushprox: the proxy is shutting down "
	    "(draining); send the %s to another proxy", what);
	(void)httpreq_add_header(req, "Retry-After", "1");
	httpreq_reply_text(req, 503, msg);
	return 1;
}

/* Refuses a scraper (407) or a reader (401) and logs why. */
static void
router_deny(struct httpreq *req, int proxied, const char *why)
{
	log_info("authentication failed", "peer", httpreq_peer(req),
	    "target", httpreq_target(req), "reason", why);
	if (proxied) {
		(void)httpreq_add_header(req, "Proxy-Authenticate",
		    "Basic realm=\"pushprox\"");
		httpreq_reply_text(req, 407, "pushprox: proxy authentication "
		    "required (basic_auth_users in --web.config.file)");
	} else {
		(void)httpreq_add_header(req, "WWW-Authenticate",
		    "Basic realm=\"pushprox\"");
		httpreq_reply_text(req, 401, "pushprox: authentication "
		    "required");
	}
}

/* On a worker thread: the bcrypt, and nothing else. */
static void
router_auth_work_cb(void *arg)
{
	struct router_auth *ra = arg;

	basicauth_check_run(&ra->check);
}

static void
router_auth_free(struct router_auth *ra)
{
	basicauth_check_clear(&ra->check);
	free(ra);
}

/* The check's connection died while it waited or ran. */
static void
router_auth_abort_cb(struct httpreq *req, const char *why, void *arg)
{
	struct router_auth *ra = arg;

	ra->req = NULL;
	if (authpool_cancel(ra->px->authpool, ra->job)) {
		/* It never ran: it costs the source nothing. */
		authlimit_give(ra->px->authlimit, ra->source,
		    proxy_now_ms(ra->px));
		router_auth_free(ra);
	}
	/* Otherwise router_auth_done_cb frees ra. */
}

/* On the loop thread: the check's verdict, for a request maybe gone. */
static void
router_auth_done_cb(int ran, void *arg)
{
	struct router_auth *ra = arg;
	struct proxy *px = ra->px;
	struct httpreq *req = ra->req;
	router_handler next = ra->next;
	int proxied = ra->proxied;
	enum basicauth_verdict v = BASICAUTH_REFUSED;
	const char *why = "the proxy is shutting down";

	if (ran)
		v = basicauth_check_finish(px->basicauth, &ra->check, &why);
	/* Only failures count against the source. */
	if (v != BASICAUTH_REFUSED)
		authlimit_give(px->authlimit, ra->source, proxy_now_ms(px));
	router_auth_free(ra);
	if (req == NULL)
		return;
	httpreq_set_abort_cb(req, NULL, NULL);
	switch (v) {
	case BASICAUTH_GRANTED:
		next(px, req);
		break;
	case BASICAUTH_STALE:
		/* The users changed under the check: judge by the new ones. */
		router_authorize(px, req, proxied, next);
		break;
	default:
		router_deny(req, proxied, why);
		break;
	}
}

/*
 * Scrapers and readers: basic auth when basic_auth_users is set.  Calls
 * next(px, req) once the credentials are good, now or after the bcrypt;
 * otherwise answers 401/407, 429 (the source failed too often) or 503
 * (too many checks waiting).
 */
static void
router_authorize(struct proxy *px, struct httpreq *req, int proxied,
    router_handler next)
{
	struct router_auth *ra;
	const char *why;
	int64_t retry_ms = 1000;
	char msg[256], retry[32];

	if (!basicauth_has_users(px->basicauth)) {
		next(px, req);
		return;
	}
	if ((ra = calloc(1, sizeof(*ra))) == NULL) {
		log_warn("request refused", "peer", httpreq_peer(req), "target",
		    httpreq_target(req), "reason", "out of memory for a "
		    "password check");
		httpreq_reply_text(req, 503, "pushprox: out of memory");
		return;
	}
	switch (basicauth_start(px->basicauth, httpreq_header(req, proxied ?
	    "Proxy-Authorization" : "Authorization"), &ra->check, &why)) {
	case BASICAUTH_GRANTED:
		router_auth_free(ra);
		next(px, req);
		return;
	case BASICAUTH_VERIFY:
		break;
	default:
		router_auth_free(ra);
		router_deny(req, proxied, why);
		return;
	}
	ra->px = px;
	ra->req = req;
	ra->next = next;
	ra->proxied = proxied;
	authlimit_source(httpreq_peer(req), ra->source);
	if (!authlimit_take(px->authlimit, ra->source, proxy_now_ms(px),
	    &retry_ms)) {
		router_auth_free(ra);
		/* Debug only: a flood must not become a flood of log lines. */
		log_debug("authentication refused: too many failures",
		    "peer", httpreq_peer(req), "target", httpreq_target(req));
		snprintf(retry, sizeof(retry), "%lld", (long long)(retry_ms <
		    1000 ? 1 : (retry_ms + 999) / 1000));
		(void)httpreq_add_header(req, "Retry-After", retry);
		snprintf(msg, sizeof(msg), "pushprox: too many failed password "
		    "checks from this address (--web.auth-failure-limit=%lld "
		    "per minute); retry in %s s", (long long)
		    px->cfg->auth_failure_limit, retry);
		httpreq_reply_text(req, 429, msg);
		return;
	}
	if ((ra->job = authpool_submit(px->authpool, router_auth_work_cb,
	    router_auth_done_cb, ra)) == NULL) {
		authlimit_give(px->authlimit, ra->source, proxy_now_ms(px));
		router_auth_free(ra);
		log_debug("authentication refused: password check queue full",
		    "peer", httpreq_peer(req), "target", httpreq_target(req));
		(void)httpreq_add_header(req, "Retry-After", "1");
		snprintf(msg, sizeof(msg), "pushprox: too many password checks "
		    "waiting (--web.auth-queue-size=%lld); retry shortly",
		    (long long)px->cfg->auth_queue_size);
		httpreq_reply_text(req, 503, msg);
		return;
	}
	httpreq_set_abort_cb(req, router_auth_abort_cb, ra);
}

enum router_dest
router_route(const char *target, const char *method, const char **allow)
{
	size_t i, n;

	*allow = NULL;
	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0)
		return ROUTER_SCRAPE;
	if (*target != '/')
		return ROUTER_BAD_TARGET;
	n = strcspn(target, "?");
	for (i = 0; i < sizeof(router_table) / sizeof(router_table[0]); i++) {
		if (strlen(router_table[i].path) != n ||
		    strncmp(target, router_table[i].path, n) != 0)
			continue;
		if (strcmp(method, router_table[i].method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && router_table[i].allow !=
		    NULL && strstr(router_table[i].allow, "HEAD") != NULL))
			return router_table[i].dest;
		*allow = router_table[i].allow != NULL ?
		    router_table[i].allow : router_table[i].method;
		return ROUTER_BAD_METHOD;
	}
	return ROUTER_NOT_FOUND;
}

void
router_request_cb(struct httpreq *req, void *arg)
{
	struct proxy *px = arg;
	const char *allow;

	switch (router_route(httpreq_target(req), httpreq_method(req),
	    &allow)) {
	case ROUTER_SCRAPE:
		if (!router_refuse_draining(px, req, "scrape"))
			router_authorize(px, req, 1, scrape_start);
		break;
	/* /poll and /push check client credentials (clientauth.c). */
	case ROUTER_POLL:
		/* Draining: a poll is welcome only if a scrape waits. */
		if (registry_scrapes_waiting(px->registry) > 0 ||
		    !router_refuse_draining(px, req, "poll"))
			poll_start(px, req);
		break;
	case ROUTER_PUSH:
		push_start(px, req);
		break;
	case ROUTER_CLIENTS:
		router_authorize(px, req, 0, router_clients);
		break;
	case ROUTER_METRICS:
		router_authorize(px, req, 0, router_metrics);
		break;
	case ROUTER_ADVERTISE:
		advertise_start(px, req);
		break;
	case ROUTER_TARGETS:
		router_authorize(px, req, 0, router_targets);
		break;
	case ROUTER_HEALTHY:
		httpreq_reply_text(req, 200, "Healthy.");
		break;
	case ROUTER_READY:
		if (px->draining)
			httpreq_reply_text(req, 503, "Service Unavailable: "
			    "draining (shutting down).");
		else
			httpreq_reply_text(req, 200, "Ready.");
		break;
	case ROUTER_STATUS:
		router_authorize(px, req, 0, router_status);
		break;
	case ROUTER_BAD_TARGET:
		httpreq_reply_text(req, 400, "request target must be a path or "
		    "an absolute http URL");
		break;
	case ROUTER_BAD_METHOD:
		(void)httpreq_add_header(req, "Allow", allow);
		httpreq_reply_text(req, 405, "method not allowed");
		break;
	case ROUTER_NOT_FOUND:
		httpreq_reply_text(req, 404, "not found: the proxy serves "
		    "/poll, /push, /clients, /metrics, /, /-/healthy, /-/ready "
		    "and absolute-form scrape requests");
		break;
	}
}
