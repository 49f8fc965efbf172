/*
 * Dispatch of every request the proxy receives.  The request target's
 * form decides: absolute form ("http://host:port/path") is a scrape to
 * forward, even when its path is /metrics; origin form ("/poll") is the
 * proxy's own API.
 */
#ifndef PUSHPROX_ROUTER_H
#define PUSHPROX_ROUTER_H

struct httpreq;

/* The httpserver request callback; arg is the struct proxy. */
void router_request_cb(struct httpreq *req, void *arg);

#endif
