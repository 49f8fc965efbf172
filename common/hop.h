/*
 * The one header-forwarding policy of pushprox: which headers of a message
 * cross each of the four hops a scrape makes.  Every place that copies
 * headers from one message to the next asks hop_forwards(); nothing else
 * decides.  RFC 9110 7.6.1: hop-by-hop headers (Connection, Keep-Alive,
 * Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade) and any header named in
 * a Connection header never cross; framing (Content-Length) is recomputed
 * by every writer; the protocol's own headers (Id, the scrape timeout) are
 * recomputed by the side that owns them.
 */
#ifndef PUSHPROX_HOP_H
#define PUSHPROX_HOP_H

#include <stdbool.h>
#include <stddef.h>

#include "httpmsg.h"

enum hop {
	HOP_SCRAPE_TO_POLL,	/* proxy: Prometheus's request -> poll answer */
	HOP_POLL_TO_TARGET,	/* client: scrape request -> target request */
	HOP_TARGET_TO_PUSH,	/* client: target response -> pushed response */
	HOP_PUSH_TO_SCRAPER,	/* proxy: pushed response -> Prometheus */
};

/* Whether header `name` of the headers h[0..n) crosses hop. */
bool hop_forwards(enum hop hop, const struct httpmsg_header *h, size_t n,
    const char *name);

/* The same for a parsed message's headers. */
bool hop_forwards_msg(enum hop hop, const struct httpmsg *m,
    const char *name);

/* Whether a Connection header among h[0..n) lists name (any case). */
bool hop_connection_lists(const struct httpmsg_header *h, size_t n,
    const char *name);

#endif
