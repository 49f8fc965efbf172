/*
 * Dispatch of every request the proxy receives.  The request target's
 * form decides: absolute form ("http://host:port/path") is a scrape to
 * forward, even when its path is /metrics; origin form ("/poll") is the
 * proxy's own API.
 */
#ifndef PUSHPROX_ROUTER_H
#define PUSHPROX_ROUTER_H

struct httpreq;

/* Where a request goes, by target form, path and method. */
enum router_dest {
	ROUTER_SCRAPE,		/* absolute-form http(s): a scrape to forward */
	ROUTER_POLL,		/* POST /poll */
	ROUTER_PUSH,		/* POST /push */
	ROUTER_CLIENTS,		/* GET /clients */
	ROUTER_METRICS,		/* GET /metrics */
	ROUTER_ADVERTISE,	/* POST /advertise (issue 10) */
	ROUTER_TARGETS,		/* GET /targets (issue 10) */
	ROUTER_HEALTHY,		/* GET|HEAD /-/healthy: no auth */
	ROUTER_READY,		/* GET|HEAD /-/ready: no auth */
	ROUTER_STATUS,		/* GET|HEAD /: the status page */
	ROUTER_BAD_TARGET,	/* neither a path nor an http(s) URL: 400 */
	ROUTER_NOT_FOUND,	/* an unknown path: 404 */
	ROUTER_BAD_METHOD,	/* a known path, another method: 405 */
};

/*
 * Pure dispatch (no I/O, for tests): the destination of a request; for
 * ROUTER_BAD_METHOD *allow is the path's methods (static, e.g. "GET,
 * HEAD"), else NULL.
 */
enum router_dest router_route(const char *target, const char *method,
    const char **allow);

/* The httpserver request callback; arg is the struct proxy. */
void router_request_cb(struct httpreq *req, void *arg);

#endif
