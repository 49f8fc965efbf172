/*
 * Routing by target form, then by path and method.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "httpserver.h"
#include "log.h"
#include "poll.h"
#include "proxy.h"
#include "push.h"
#include "router.h"
#include "scrape.h"
#include "sd.h"
#include "stats.h"

struct router_route {
	const char	*path;
	const char	*method;
	void		(*handler)(struct proxy *, struct httpreq *);
};

static void
router_clients(struct proxy *px, struct httpreq *req)
{
	sd_reply(px, req);
}

static void
router_metrics(struct proxy *px, struct httpreq *req)
{
	stats_reply(px->stats, req);
}

static const struct router_route router_routes[] = {
	{ "/poll", "POST", poll_start },
	{ "/push", "POST", push_start },
	{ "/clients", "GET", router_clients },
	{ "/metrics", "GET", router_metrics },
};

/* Scrapers and readers: basic auth when basic_auth_users is set. */
static int
router_authorized(struct proxy *px, struct httpreq *req, int proxied)
{
	const char *why;

	if (!auth_has_users(px->auth))
		return 1;
	if (auth_basic(px->auth, httpreq_header(req, proxied ?
	    "Proxy-Authorization" : "Authorization"), &why) == 0)
		return 1;
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
	return 0;
}

void
router_request_cb(struct httpreq *req, void *arg)
{
	struct proxy *px = arg;
	const char *target = httpreq_target(req);
	const char *method = httpreq_method(req);
	size_t i, n;

	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0) {
		if (router_authorized(px, req, 1))
			scrape_start(px, req);
		return;
	}
	if (*target != '/') {
		httpreq_reply_text(req, 400, "request target must be a path or "
		    "an absolute http URL");
		return;
	}
	n = strcspn(target, "?");
	for (i = 0; i < sizeof(router_routes) / sizeof(router_routes[0]); i++) {
		const struct router_route *r = &router_routes[i];

		if (strlen(r->path) != n || strncmp(target, r->path, n) != 0)
			continue;
		if (strcmp(method, r->method) == 0) {
			/* /poll and /push check client credentials. */
			if (r->handler == poll_start ||
			    r->handler == push_start ||
			    router_authorized(px, req, 0))
				r->handler(px, req);
			return;
		}
		(void)httpreq_add_header(req, "Allow", r->method);
		httpreq_reply_text(req, 405, "method not allowed");
		return;
	}
	httpreq_reply_text(req, 404, "not found: the proxy serves /poll, "
	    "/push, /clients, /metrics and absolute-form scrape requests");
}
