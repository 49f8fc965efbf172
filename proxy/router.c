/*
 * Routing by target form, then by path and method.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpserver.h"
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

void
router_request_cb(struct httpreq *req, void *arg)
{
	struct proxy *px = arg;
	const char *target = httpreq_target(req);
	const char *method = httpreq_method(req);
	size_t i, n;

	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0) {
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
