/*
 * POST /advertise: a client tells the proxy its labels and named targets
 * (docs/protocol.md 2.2); the proxy stores them in the registry under the
 * client's tag, for GET /targets and GET /clients.
 */
#ifndef PUSHPROX_ADVERTISE_H
#define PUSHPROX_ADVERTISE_H

struct httpreq;
struct proxy;

/* Takes over a POST /advertise request and answers it exactly once. */
void advertise_start(struct proxy *px, struct httpreq *req);

#endif
