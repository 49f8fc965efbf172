/*
 * Long-polls.  State: READING (body not complete) -> PARKED (queued in the
 * registry, timer armed) -> freed by poll_close, the one teardown, which
 * counts the outcome.  Only poll_set_state changes the state.  A poll that
 * finds a scrape waiting is answered at once and never parks.  The
 * connection layer keeps reading a parked poll's socket, so a client that
 * vanishes is dropped from the registry at once (poll_abort_cb) and is
 * never handed a scrape.
 *
 * Our extensions (docs/protocol.md 2.1, 2.2) are checked before a poll is
 * matched or parked: Pushprox-Fqdn must name the body's FQDN (400), a
 * poll without Pushprox-Targets clears the stored advertisement (a Go
 * client, or ours after a refusal), and one whose tag is not the stored
 * one is answered at once with 204 + Pushprox-Advertise: required.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "advert.h"
#include "clientauth.h"
#include "config.h"
#include "duration.h"
#include "httpreq.h"
#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "poll.h"
#include "proxy.h"
#include "registry.h"
#include "scrape.h"
#include "stats.h"

enum poll_state {
	POLL_READING,	/* the body (the FQDN) is not complete */
	POLL_PARKED,	/* queued in the registry, timer armed */
};

struct poll {
	struct proxy		*px;
	struct httpreq		*req;
	enum poll_state		 state;
	struct registry_waiter	 w;
	struct event		*timer;
	char			 fqdn[LIMIT_MAX_FQDN_BYTES + 1];
	char			 identity[CLIENTAUTH_IDENTITY_LEN];
};

static const char *
poll_state_name(enum poll_state st)
{
	switch (st) {
	case POLL_READING: return "reading";
	case POLL_PARKED: return "parked";
	}
	return "?";
}

/* The only writer of p->state. */
static void
poll_set_state(struct poll *p, enum poll_state st)
{
	log_debug("poll state", "fqdn", p->fqdn, "from",
	    poll_state_name(p->state), "to", poll_state_name(st));
	p->state = st;
}

/*
 * The single teardown: counts the outcome (pushprox_polls_total: scrape,
 * no_work, gone, rejected) and frees the poll; its request has been
 * answered or is gone.
 */
static void
poll_close(struct poll *p, const char *outcome, const char *why)
{
	log_debug("poll closed", "fqdn", p->fqdn, "state",
	    poll_state_name(p->state), "outcome", outcome, "reason", why);
	metric_add(p->px->stats->polls, 1, outcome);
	registry_remove(p->px->registry, &p->w);
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}

static void
poll_abort_cb(struct httpreq *req, const char *why, void *arg)
{
	struct poll *p = arg;

	/* A poll that had been open counts as "seen" until now. */
	if (p->state == POLL_PARKED)
		registry_touch(p->px->registry, p->fqdn, proxy_now_ms(p->px));
	poll_close(p, "gone", why);
}

static void
poll_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poll *p = arg;

	registry_remove(p->px->registry, &p->w);
	registry_touch(p->px->registry, p->fqdn, proxy_now_ms(p->px));
	httpreq_reply(p->req, 204, NULL, NULL, 0);
	poll_close(p, "no_work", "no work within --poll.timeout");
}

int
poll_parse_fqdn(const char *body, size_t len, char *out, size_t outlen,
    const char **why)
{
	size_t i, n;

	while (len > 0 && isspace((unsigned char)*body)) {
		body++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)body[len - 1]))
		len--;
	if (len == 0) {
		*why = "empty FQDN: the poll body must be the client's FQDN";
		return -1;
	}
	if (len > LIMIT_MAX_FQDN_BYTES || len >= outlen) {
		*why = "FQDN longer than " LIMIT_STR(LIMIT_MAX_FQDN_BYTES)
		    " bytes";
		return -1;
	}
	for (i = 0, n = 0; i < len; i++) {
		unsigned char ch = (unsigned char)body[i];

		if (ch == 0 ||
		    (!isalnum(ch) && strchr("-._:", ch) == NULL)) {
			*why = "FQDN may hold only letters, digits and -._:";
			return -1;
		}
		out[n++] = (char)tolower(ch);
	}
	out[n] = '\0';
	return 0;
}

/* Answers the poll with an error (logged: the client is misconfigured). */
static void
poll_reject(struct poll *p, int status, const char *text, const char *why)
{
	log_warn("poll rejected", "peer", httpreq_peer(p->req), "reason",
	    why);
	httpreq_reply_text(p->req, status, text);
	poll_close(p, "rejected", why);
}

void
poll_fail(struct poll *p, int status, const char *why)
{
	poll_reject(p, status, why, why);
}

/* Pushprox-Fqdn, when present, must name the body's FQDN.  0, or -1. */
static int
poll_check_fqdn_header(struct poll *p, char *msg, size_t msglen)
{
	const char *h = httpreq_header(p->req, "Pushprox-Fqdn"), *why;
	char fqdn[LIMIT_MAX_FQDN_BYTES + 1];

	if (h == NULL)
		return 0;
	if (poll_parse_fqdn(h, strlen(h), fqdn, sizeof(fqdn), &why) == -1) {
		snprintf(msg, msglen, "invalid Pushprox-Fqdn header: %s", why);
		return -1;
	}
	if (strcmp(fqdn, p->fqdn) != 0) {
		snprintf(msg, msglen, "Pushprox-Fqdn \"%s\" does not match the "
		    "poll body \"%s\": a client polls for one FQDN", fqdn,
		    p->fqdn);
		return -1;
	}
	return 0;
}

/*
 * Pushprox-Targets: none clears what is stored; the stored tag lets the
 * poll go on (0); another tag is answered 204 + Pushprox-Advertise:
 * required and the poll freed (1).
 */
static int
poll_check_tag(struct poll *p)
{
	struct registry *reg = p->px->registry;
	const char *tag = httpreq_header(p->req, "Pushprox-Targets");
	const char *stored;
	char msg[256];

	if (tag == NULL) {
		registry_clear_advert(reg, p->fqdn);
		return 0;
	}
	if (!advert_tag_ok(tag)) {
		snprintf(msg, sizeof(msg), "invalid Pushprox-Targets header "
		    "\"%.80s\": 1 to %d of [0-9A-Za-z_-]", tag, ADVERT_MAX_TAG);
		poll_reject(p, 400, msg, msg);
		return 1;
	}
	if (registry_advert(reg, p->fqdn, &stored) != NULL &&
	    strcmp(stored, tag) == 0)
		return 0;
	/* Asking is contact: the client is live while it answers. */
	registry_clear_advert(reg, p->fqdn);
	if (registry_register(reg, p->fqdn, proxy_now_ms(p->px)) == -1) {
		poll_reject(p, 503, "pushprox: out of memory", "out of memory "
		    "registering the client");
		return 1;
	}
	registry_set_peer(reg, p->fqdn, httpreq_peer(p->req));
	if (httpreq_add_header(p->req, "Pushprox-Advertise", "required") ==
	    -1) {
		poll_reject(p, 503, "pushprox: out of memory", "out of memory "
		    "asking for the advertisement");
		return 1;
	}
	log_debug("poll answered: advertisement required", "fqdn", p->fqdn,
	    "tag", tag, "stored", stored != NULL ? stored : "");
	httpreq_reply(p->req, 204, NULL, NULL, 0);
	poll_close(p, "no_work", "asked the client for its advertisement");
	return 1;
}

static void
poll_body_cb(struct httpreq *req, void *arg)
{
	struct poll *p = arg;
	struct proxy *px = p->px;
	const struct buf *body = httpreq_body(req);
	struct registry_waiter *match = NULL;
	enum registry_result r;
	const char *why;
	char msg[768];
	struct timeval tv;
	int status;

	if (poll_parse_fqdn(buf_cstr(body), body->len, p->fqdn,
	    sizeof(p->fqdn), &why) == -1) {
		snprintf(msg, sizeof(msg), "invalid poll: %s", why);
		poll_reject(p, 400, msg, why);
		return;
	}
	if (poll_check_fqdn_header(p, msg, sizeof(msg)) == -1) {
		poll_reject(p, 400, msg, msg);
		return;
	}
	if (clientauth_identify(px->clientauth, req, p->fqdn, p->identity,
	    &status, msg, sizeof(msg)) == -1) {
		poll_reject(p, status, msg, msg);
		return;
	}
	if (poll_check_tag(p) != 0)
		return;
	r = registry_add_poll(px->registry, p->fqdn, proxy_now_ms(px), &p->w,
	    &match);
	if (r != REGISTRY_NOMEM)
		registry_set_peer(px->registry, p->fqdn, httpreq_peer(req));
	switch (r) {
	case REGISTRY_MATCHED:
		if (scrape_hand_to_poll(match->owner, p) == -1)
			poll_reject(p, 503, "pushprox: out of memory", "out of "
			    "memory handing a waiting scrape to the poll");
		return;
	case REGISTRY_QUEUED:
		break;
	case REGISTRY_FULL:
		snprintf(msg, sizeof(msg), "too many polls waiting for FQDN "
		    "\"%s\" (limit set by --poll.max-per-client)", p->fqdn);
		poll_reject(p, 429, msg, "poll limit for FQDN reached");
		return;
	default:
		poll_reject(p, 503, "pushprox: out of memory", "out of memory "
		    "registering the poll");
		return;
	}
	if ((p->timer = evtimer_new(px->base, poll_timeout_cb, p)) == NULL) {
		poll_reject(p, 503, "pushprox: out of memory", "out of memory "
		    "for the poll's timer");
		return;
	}
	poll_set_state(p, POLL_PARKED);
	duration_to_timeval(px->cfg->poll_timeout_ms, &tv);
	evtimer_add(p->timer, &tv);
	log_debug("poll parked", "fqdn", p->fqdn, "peer", httpreq_peer(req));
}

void
poll_start(struct proxy *px, struct httpreq *req)
{
	struct poll *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("poll refused", "peer", httpreq_peer(req), "reason",
		    "out of memory for a new poll");
		httpreq_reply_text(req, 503, "pushprox: out of memory");
		return;
	}
	p->px = px;
	p->req = req;
	p->w.owner = p;		/* calloc: POLL_READING */
	httpreq_set_abort_cb(req, poll_abort_cb, p);
	httpreq_read_body(req, LIMIT_MAX_POLL_BODY_BYTES, poll_body_cb, p);
}

void
poll_deliver(struct poll *p, const struct buf *request,
    void (*sent)(int ok, void *arg), void *arg)
{
	registry_touch(p->px->registry, p->fqdn, proxy_now_ms(p->px));
	httpreq_set_sent_cb(p->req, sent, arg);
	httpreq_reply(p->req, 200, "message/http", request->data, request->len);
	poll_close(p, "scrape", "scrape delivered");
}

void
poll_release(struct poll *p)
{
	registry_remove(p->px->registry, &p->w);
	registry_touch(p->px->registry, p->fqdn, proxy_now_ms(p->px));
	httpreq_reply(p->req, 204, NULL, NULL, 0);
	poll_close(p, "no_work", "the proxy is draining");
}

const char *
poll_identity(const struct poll *p)
{
	return p->identity;
}

const char *
poll_fqdn(const struct poll *p)
{
	return p->fqdn;
}
