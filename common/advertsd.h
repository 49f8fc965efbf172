/*
 * Rendering advertisements into the proxy's http_sd answers: GET /targets
 * (one target group per advertised target) and GET /clients (one per
 * client).  See docs/protocol.md, "Advertising targets".  The functions
 * keep advert.c's prefix: they were moved here unchanged.
 */
#ifndef PUSHPROX_ADVERTSD_H
#define PUSHPROX_ADVERTSD_H

#include <stdbool.h>
#include <stdint.h>

struct advert;
struct buf;

/* How the proxy sees a client when it renders it. */
struct advert_live {
	const char	*fqdn;
	const char	*address;	/* the peer "IP:PORT", or NULL */
	int64_t		 seen_seconds;	/* since the client last talked */
	bool		 poll_open;	/* a poll of it is parked now */
};

/*
 * Appends to out one http_sd target group per target of a (sorted by
 * name), each ready to scrape through proxy_url: "targets":["FQDN:0"],
 * __metrics_path__ /pushprox/targets/NAME/metrics, instance FQDN/NAME,
 * the client's and the target's labels (the target's win) and the
 * __meta_pushprox_* labels.  *first is true before the first group of
 * the whole array (no comma) and false afterwards.  Returns 0, or -1 at
 * out's cap or on ENOMEM.
 */
int advert_render_targets(struct buf *out, const struct advert *a,
    const struct advert_live *live, bool *first);

/*
 * Appends to out the /clients group of one client: "targets":["FQDN"]
 * with its labels (a may be NULL: a Go client advertises nothing) and the
 * __meta_pushprox_* liveness labels.  Same *first and results as above.
 */
int advert_render_client(struct buf *out, const struct advert *a,
    const struct advert_live *live, bool *first);

#endif
