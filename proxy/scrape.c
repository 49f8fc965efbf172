/*
 * Scrapes.  The request for the client is serialized once, at arrival,
 * in proxy form with the scraper's headers less hop-by-hop ones (so
 * Proxy-Authorization never reaches a client), an "Id" and the effective
 * timeout in X-Prometheus-Scrape-Timeout-Seconds.  A scrape is in the id
 * map only while SENT, so a push can claim it once; a duplicate or late
 * push finds nothing and is answered at once.
 *
 * A scrape of port 0 is for a named target (docs/protocol.md 2.5:
 * http://FQDN:0/pushprox/targets/NAME/metrics).  It is routed by FQDN like
 * any other; the proxy only answers it itself when the path is not that
 * form (400) or when the client's stored advertisement has no NAME (404,
 * naming it).  With no advertisement stored (a proxy just restarted) the
 * client decides.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "advert.h"
#include "clientauth.h"
#include "config.h"
#include "duration.h"
#include "hop.h"
#include "httpmsg.h"
#include "httpreq.h"
#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "poll.h"
#include "proxy.h"
#include "push.h"
#include "registry.h"
#include "scrape.h"
#include "stats.h"
#include "strmap.h"
#include "url.h"

enum scrape_state {
	SCRAPE_WAITING,
	SCRAPE_SENT,
	SCRAPE_RELAYING,
};

/* Outlives its scrape if need be: the sent callback always runs. */
struct scrape_delivery {
	struct scrape		*scrape; /* NULL once the scrape is gone */
};

struct scrape {
	struct proxy		*px;
	struct scrape_delivery	*delivery;	/* the poll answer in flight */
	struct httpreq		*req;
	enum scrape_state	 state;
	struct registry_waiter	 w;
	struct event		*timer;
	struct push		*push;
	int64_t			 timeout_ms;
	int64_t			 started_ms;	/* for stats_scrape_done */
	int			 replying;	/* the relayed head went out */
	/* why a push for it was refused */
	char			 refusal[256];
	struct buf		 request;
	char			 id[37];
	char			 fqdn[LIMIT_MAX_FQDN_BYTES + 3]; /* longer than
					   any FQDN: a host cut to fit
					   matches no client */
	char			 identity[CLIENTAUTH_IDENTITY_LEN]; /* its
							      client's */
};

static void	scrape_match(struct scrape *);

static const char *
scrape_state_name(enum scrape_state s)
{
	switch (s) {
	case SCRAPE_WAITING: return "waiting";
	case SCRAPE_SENT: return "sent";
	case SCRAPE_RELAYING: return "relaying";
	}
	return "?";
}

/* The only writer of s->state. */
static void
scrape_set_state(struct scrape *s, enum scrape_state st)
{
	log_debug("scrape state", "id", s->id, "from",
	    scrape_state_name(s->state), "to", scrape_state_name(st));
	s->state = st;
}

int
scrape_new_id(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t i, off = 0;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[off++] = '-';
		out[off++] = hex[b[i] >> 4];
		out[off++] = hex[b[i] & 15];
	}
	out[off] = '\0';
	return 0;
}

/* The single teardown; the scraper's request is answered or gone. */
static void
scrape_close(struct scrape *s, const char *outcome, const char *reason)
{
	struct proxy *px = s->px;

	log_debug("scrape closed", "id", s->id, "fqdn", s->fqdn, "outcome",
	    outcome, "reason", reason);
	metric_add(px->stats->scrapes, 1, outcome);
	stats_scrape_done(px->stats, s->fqdn, outcome, proxy_now_ms(px) -
	    s->started_ms);
	if (s->delivery != NULL)
		s->delivery->scrape = NULL;
	registry_remove(px->registry, &s->w);
	if (s->state == SCRAPE_SENT && strmap_get(px->scrapes, s->id) == s)
		strmap_remove(px->scrapes, s->id);
	if (s->timer != NULL)
		event_free(s->timer);
	buf_release(&s->request);
	px->scrapes_active--;
	free(s);
}

/* Answers the scraper with an error and frees the scrape. */
static void
scrape_fail(struct scrape *s, int status, const char *outcome,
    const char *text)
{
	log_info("scrape failed", "id", s->id, "fqdn", s->fqdn, "reason",
	    text);
	httpreq_reply_text(s->req, status, text);
	scrape_close(s, outcome, text);
}

static void
scrape_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scrape *s = arg;
	char msg[1024], d[32];

	duration_format(s->timeout_ms, d, sizeof(d));
	switch (s->state) {
	case SCRAPE_WAITING:
		snprintf(msg, sizeof(msg), "pushprox: scrape timed out after "
		    "%s waiting for client \"%s\" to poll (it is registered "
		    "but has no poll open)", d, s->fqdn);
		scrape_fail(s, 504, "poll_timeout", msg);
		break;
	case SCRAPE_SENT:
		snprintf(msg, sizeof(msg), "pushprox: scrape timed out after "
		    "%s waiting for client \"%s\" to push its result%s%s%s", d,
		    s->fqdn, s->refusal[0] != '\0' ? " (a push for it was "
		    "refused: " : "", s->refusal, s->refusal[0] != '\0' ? ")" :
		    "");
		scrape_fail(s, 504, "push_timeout", msg);
		break;
	case SCRAPE_RELAYING:
		if (!s->replying) {
			/* Still waiting for the push's final response. */
			push_detach(s->push, "scrape timed out waiting for the "
			    "final response");
			snprintf(msg, sizeof(msg), "pushprox: scrape timed out "
			    "after %s waiting for client \"%s\" to push a "
			    "final response", d, s->fqdn);
			scrape_fail(s, 504, "relay_timeout", msg);
			break;
		}
		log_info("scrape timed out while relaying", "id", s->id,
		    "fqdn", s->fqdn, "timeout", d);
		push_detach(s->push, "scrape timed out while relaying");
		httpreq_abort(s->req, "scrape timed out while relaying");
		scrape_close(s, "relay_timeout", "timed out while relaying");
		break;
	}
}

static void
scrape_abort_cb(struct httpreq *req, const char *why, void *arg)
{
	struct scrape *s = arg;

	log_info("scraper went away", "id", s->id, "fqdn", s->fqdn,
	    "state", scrape_state_name(s->state), "reason", why);
	if (s->state == SCRAPE_RELAYING)
		push_detach(s->push, "scraper went away");
	scrape_close(s, "scraper_gone", why);
}

/* Serializes the request the client will perform. */
static int
scrape_serialize(struct scrape *s, const struct url *u)
{
	const struct httpmsg *m = httpreq_msg(s->req);
	struct httpmsg_header h[LIMIT_MAX_HEADERS + 3];
	const struct httpmsg_header *src;
	size_t i, n = 0;
	char timeout[32], host[300];

	if (httpmsg_header(m, "Host") == NULL) {
		snprintf(host, sizeof(host), strchr(u->host, ':') != NULL ?
		    "[%s]:%u" : "%s:%u", u->host, u->port);
		h[n].name = "Host";
		h[n++].value = host;
	}
	for (i = 0; (src = httpmsg_header_at(m, i)) != NULL; i++) {
		if (!hop_forwards_msg(HOP_SCRAPE_TO_POLL, m, src->name))
			continue;
		h[n++] = *src;
	}
	snprintf(timeout, sizeof(timeout), "%.3f",
	    (double)s->timeout_ms / 1000.0);
	/* "10.000" -> "10": what Prometheus itself would send. */
	if (strstr(timeout, ".000") != NULL)
		*strstr(timeout, ".000") = '\0';
	h[n].name = "Id";
	h[n++].value = s->id;
	h[n].name = "X-Prometheus-Scrape-Timeout-Seconds";
	h[n++].value = timeout;
	buf_init(&s->request, LIMIT_MAX_SCRAPE_REQ_BYTES);
	return httpmsg_write_request_head(&s->request, httpreq_method(s->req),
	    httpreq_target(s->req), h, n);
}

static int64_t
scrape_timeout(const struct proxy *px, const struct httpreq *req)
{
	const char *v = httpreq_header(req,
	    "X-Prometheus-Scrape-Timeout-Seconds");
	int64_t ms = px->cfg->scrape_default_timeout_ms;

	if (v != NULL && duration_parse_seconds(v, &ms) == -1) {
		log_warn("ignoring bad scrape timeout header", "peer",
		    httpreq_peer(req), "value", v);
		ms = px->cfg->scrape_default_timeout_ms;
	}
	return ms > px->cfg->scrape_max_timeout_ms ?
	    px->cfg->scrape_max_timeout_ms : ms;
}

int
scrape_target_name(const char *path_query, char *name, size_t namelen)
{
	size_t pre = strlen(ADVERT_PATH_PREFIX),
	    suf = strlen(ADVERT_PATH_SUFFIX);
	size_t len = strlen(path_query), n;
	const char *why;

	if (len <= pre + suf || strncmp(path_query, ADVERT_PATH_PREFIX, pre) !=
	    0 || strcmp(path_query + len - suf, ADVERT_PATH_SUFFIX) != 0)
		return -1;
	n = len - pre - suf;
	if (n >= namelen)
		return -1;
	memcpy(name, path_query + pre, n);
	name[n] = '\0';
	return advert_name_ok(name, &why) ? 0 : -1;
}

/*
 * A named-target scrape (port 0) the proxy can answer itself: a path not
 * of the named form (400) or a name the stored advertisement lacks (404).
 * Returns 1 when answered, else 0 (route it as any scrape).
 */
static int
scrape_named_refused(struct proxy *px, struct httpreq *req,
    const struct url *u)
{
	const struct advert *a;
	char name[LIMIT_MAX_TARGET_NAME_BYTES + 1], msg[1024];
	size_t i, off;

	if (scrape_target_name(u->path_query, name, sizeof(name)) == -1) {
		snprintf(msg, sizeof(msg), "pushprox: port 0 is for named "
		    "targets: the path must be %sNAME%s with NAME of "
		    "[A-Za-z0-9_.-], not \"%.200s\"", ADVERT_PATH_PREFIX,
		    ADVERT_PATH_SUFFIX, u->path_query);
		httpreq_reply_text(req, 400, msg);
		return 1;
	}
	a = registry_advert(px->registry, u->host, NULL);
	if (a == NULL || advert_find(a, name) != NULL)
		return 0;
	off = (size_t)snprintf(msg, sizeof(msg), "pushprox: no target "
	    "\"%s\" on client %.253s (it advertises:", name, u->host);
	for (i = 0; i < a->ntargets && off < sizeof(msg) - 8; i++) {
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s %s",
		    i > 0 ? "," : "", a->targets[i].name);
	}
	if (off >= sizeof(msg) - 8)
		snprintf(msg + sizeof(msg) - 8, 8, ", ...)");
	else
		snprintf(msg + off, sizeof(msg) - off, "%s)", a->ntargets == 0 ?
		    " none" : "");
	log_info("scrape refused", "peer", httpreq_peer(req), "fqdn", u->host,
	    "reason", msg);
	httpreq_reply_text(req, 404, msg);
	return 1;
}

void
scrape_start(struct proxy *px, struct httpreq *req)
{
	struct scrape *s;
	struct url u;
	const char *why;
	char msg[1024];
	struct timeval tv;

	if (url_parse(httpreq_target(req), &u, &why) == -1) {
		snprintf(msg, sizeof(msg), "pushprox: cannot proxy \"%.200s\": "
		    "%s", httpreq_target(req), why);
		httpreq_reply_text(req, 400, msg);
		return;
	}
	if (u.has_port && u.port == 0 && scrape_named_refused(px, req, &u)) {
		url_release(&u);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->timer = evtimer_new(px->base, scrape_timeout_cb, s)) == NULL) {
		free(s);
		url_release(&u);
		log_warn("scrape refused", "peer", httpreq_peer(req), "reason",
		    "out of memory for a new scrape");
		httpreq_reply_text(req, 503, "pushprox: out of memory");
		return;
	}
	px->scrapes_active++;
	s->px = px;
	s->req = req;
	s->w.owner = s;		/* calloc: SCRAPE_WAITING */
	snprintf(s->fqdn, sizeof(s->fqdn), "%s", u.host);
	s->timeout_ms = scrape_timeout(px, req);
	s->started_ms = proxy_now_ms(px);
	stats_scrape_begin(px->stats, s->fqdn);
	httpreq_set_abort_cb(req, scrape_abort_cb, s);
	if (scrape_new_id(s->id) == -1) {
		url_release(&u);
		scrape_fail(s, 503, "failed", "pushprox: no random bytes for "
		    "the scrape id (getrandom failed)");
		return;
	}
	if (scrape_serialize(s, &u) == -1) {
		url_release(&u);
		scrape_fail(s, 400, "bad_request", "pushprox: scrape request "
		    "headers too large or invalid to forward");
		return;
	}
	url_release(&u);
	duration_to_timeval(s->timeout_ms, &tv);
	evtimer_add(s->timer, &tv);
	log_debug("scrape", "id", s->id, "fqdn", s->fqdn, "url",
	    httpreq_target(req));
	scrape_match(s);
}

/* Hands a WAITING scrape to a poll, queues it, or fails it. */
static void
scrape_match(struct scrape *s)
{
	struct registry_waiter *match = NULL;
	char msg[1024];

	switch (registry_add_scrape(s->px->registry, s->fqdn,
	    proxy_now_ms(s->px), &s->w, &match)) {
	case REGISTRY_MATCHED:
		if (scrape_hand_to_poll(s, match->owner) == -1)
			poll_fail(match->owner, 503, "pushprox: out of memory "
			    "handing a scrape to the poll");
		break;
	case REGISTRY_QUEUED:
		break;
	case REGISTRY_UNKNOWN:
		snprintf(msg, sizeof(msg), "pushprox: no client registered "
		    "for FQDN \"%.*s\" (a pushprox-client with --fqdn=%.*s "
		    "must be polling this proxy)", LIMIT_MAX_FQDN_BYTES,
		    s->fqdn, LIMIT_MAX_FQDN_BYTES, s->fqdn);
		scrape_fail(s, 502, "unknown_client", msg);
		break;
	default:
		scrape_fail(s, 503, "failed", "pushprox: out of memory "
		    "queueing the scrape");
		break;
	}
}

/*
 * The poll answer carrying this scrape did not leave the host: the poll's
 * connection failed.  Unless a push has claimed the scrape meanwhile, it
 * goes back to waiting for another poll, within its own deadline.
 */
static void
scrape_sent_cb(int ok, void *arg)
{
	struct scrape_delivery *d = arg;
	struct scrape *s = d->scrape;

	free(d);
	if (s == NULL)
		return;
	s->delivery = NULL;
	if (ok || s->state != SCRAPE_SENT)
		return;
	log_info("scrape request not delivered; retrying on another poll",
	    "id", s->id, "fqdn", s->fqdn);
	strmap_remove(s->px->scrapes, s->id);
	scrape_set_state(s, SCRAPE_WAITING);
	scrape_match(s);
}

int
scrape_hand_to_poll(struct scrape *s, struct poll *p)
{
	if (strmap_put(s->px->scrapes, s->id, s) == -1 ||
	    (s->delivery = calloc(1, sizeof(*s->delivery))) == NULL) {
		strmap_remove(s->px->scrapes, s->id);
		scrape_fail(s, 503, "failed", "pushprox: out of memory handing "
		    "the scrape to a poll");
		return -1;
	}
	s->delivery->scrape = s;
	snprintf(s->identity, sizeof(s->identity), "%s", poll_identity(p));
	scrape_set_state(s, SCRAPE_SENT);
	poll_deliver(p, &s->request, scrape_sent_cb, s->delivery);
	return 0;
}

struct scrape *
scrape_claim(struct proxy *px, const char *id, const char *identity,
    const char *fqdn, struct push *push, enum scrape_claim_refusal *refusal)
{
	struct scrape *s;

	*refusal = SCRAPE_CLAIM_NONE;
	if ((s = strmap_get(px->scrapes, id)) == NULL)
		return NULL;
	if (strcmp(s->identity, identity) != 0) {
		*refusal = SCRAPE_CLAIM_IDENTITY;
		return NULL;
	}
	if (fqdn != NULL && strcmp(s->fqdn, fqdn) != 0) {
		*refusal = SCRAPE_CLAIM_FQDN;
		return NULL;
	}
	strmap_remove(px->scrapes, id);
	s->push = push;
	scrape_set_state(s, SCRAPE_RELAYING);
	return s;
}

void
scrape_note_refusal(struct proxy *px, const char *id, const char *identity,
    const char *why)
{
	struct scrape *s;

	if ((s = strmap_get(px->scrapes, id)) == NULL ||
	    strcmp(s->identity, identity) != 0)
		return;
	snprintf(s->refusal, sizeof(s->refusal), "%s", why);
	log_info("push for scrape refused", "id", s->id, "fqdn", s->fqdn,
	    "reason", why);
}

struct httpreq *
scrape_req(struct scrape *s)
{
	return s->req;
}

const char *
scrape_fqdn(const struct scrape *s)
{
	return s->fqdn;
}

int
scrape_relay_start(struct scrape *s, int status, const char *reason,
    int64_t content_length)
{
	s->replying = 1;
	return httpreq_reply_start(s->req, status, reason, content_length);
}

void
scrape_relay_end(struct scrape *s)
{
	registry_touch(s->px->registry, s->fqdn, proxy_now_ms(s->px));
	httpreq_reply_end(s->req);
	scrape_close(s, "relayed", "relayed");
}

void
scrape_relay_fail(struct scrape *s, const char *why)
{
	char msg[1024];

	if (!s->replying) {
		/* Nothing relayed yet: the scraper learns why, cleanly. */
		snprintf(msg, sizeof(msg), "pushprox: the response client "
		    "\"%s\" pushed cannot be relayed: %s", s->fqdn, why);
		httpreq_clear_headers(s->req);
		scrape_fail(s, 502, "relay_failed", msg);
		return;
	}
	log_info("scrape relay failed", "id", s->id, "fqdn", s->fqdn,
	    "reason", why);
	httpreq_abort(s->req, why);
	scrape_close(s, "relay_failed", why);
}
