/*
 * The header-forwarding policy (see hop.h).  A table of names dropped on
 * every hop, a table per hop for the protocol's own headers, and the
 * Connection list of the message itself; all comparisons ignore case.
 */
#include <string.h>
#include <strings.h>

#include "hop.h"

/* Never forwarded on any hop (RFC 9110 7.6.1, plus framing). */
static const char *const hop_always[] = {
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "TE", "Trailer", "Trailers",
	"Transfer-Encoding", "Upgrade", "Content-Length",
};

/* The protocol's headers, recomputed by the side that writes the hop. */
static const char *const hop_scrape_to_poll[] = {
	"Id", "X-Prometheus-Scrape-Timeout",
};
static const char *const hop_poll_to_target[] = {
	"Host", "Id", "X-Prometheus-Scrape-Timeout",
};
static const char *const hop_target_to_push[] = {
	"Id", "X-Prometheus-Scrape-Timeout",
};
static const char *const hop_push_to_scraper[] = {
	"Id", "X-Prometheus-Scrape-Timeout",
};

#define HOP_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static bool
hop_listed(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(names[i], name) == 0)
			return true;
	return false;
}

/* Whether one Connection value ("close, X-Foo") lists name. */
static bool
hop_value_lists(const char *v, const char *name)
{
	size_t len = strlen(name), tlen;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		tlen = strcspn(v, " \t,");
		if (tlen == len && strncasecmp(v, name, len) == 0)
			return true;
		v += tlen;
	}
	return false;
}

bool
hop_connection_lists(const struct httpmsg_header *h, size_t n,
    const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, "Connection") == 0 &&
		    hop_value_lists(h[i].value, name))
			return true;
	return false;
}

/* The per-hop part of the policy. */
static bool
hop_drops(enum hop hop, const char *name)
{
	if (hop_listed(hop_always, HOP_NELEM(hop_always), name))
		return true;
	switch (hop) {
	case HOP_SCRAPE_TO_POLL:
		/* X-Prometheus-Scrape-Timeout-Seconds is rewritten too. */
		return hop_listed(hop_scrape_to_poll,
		    HOP_NELEM(hop_scrape_to_poll), name) ||
		    strcasecmp(name,
		    "X-Prometheus-Scrape-Timeout-Seconds") == 0;
	case HOP_POLL_TO_TARGET:
		return hop_listed(hop_poll_to_target,
		    HOP_NELEM(hop_poll_to_target), name);
	case HOP_TARGET_TO_PUSH:
		return hop_listed(hop_target_to_push,
		    HOP_NELEM(hop_target_to_push), name);
	case HOP_PUSH_TO_SCRAPER:
		return hop_listed(hop_push_to_scraper,
		    HOP_NELEM(hop_push_to_scraper), name);
	}
	return true;
}

bool
hop_forwards(enum hop hop, const struct httpmsg_header *h, size_t n,
    const char *name)
{
	return !hop_drops(hop, name) && !hop_connection_lists(h, n, name);
}

bool
hop_forwards_msg(enum hop hop, const struct httpmsg *m, const char *name)
{
	const struct httpmsg_header *h;
	size_t i;

	if (hop_drops(hop, name))
		return false;
	for (i = 0; (h = httpmsg_header_at(m, i)) != NULL; i++)
		if (strcasecmp(h->name, "Connection") == 0 &&
		    hop_value_lists(h->value, name))
			return false;
	return true;
}
