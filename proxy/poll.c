/*
 * Long-polls.  State: READING (body not complete) -> PARKED (queued in the
 * registry, timer armed) -> freed.  A poll that finds a scrape waiting is
 * answered at once and never parks.  The connection layer keeps reading a
 * parked poll's socket, so a client that vanishes is dropped from the
 * registry at once (poll_abort_cb) and is never handed a scrape.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "auth.h"
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
	POLL_READING,
	POLL_PARKED,
};

struct poll {
	struct proxy		*px;
	struct httpreq		*req;
	enum poll_state		 state;
	struct registry_waiter	 w;
	struct event		*timer;
	char			 fqdn[LIMIT_MAX_FQDN_BYTES + 1];
	char			 identity[AUTH_IDENTITY_LEN];
};

/* Frees the poll; its request has been answered or is gone. */
static void
poll_close(struct poll *p, const char *reason)
{
	log_debug("poll closed", "fqdn", p->fqdn, "reason", reason);
	registry_remove(p->px->registry, &p->w);
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}

static void
poll_abort_cb(struct httpreq *req, const char *why, void *arg)
{
	struct poll *p = arg;

	metric_add(p->px->stats->polls, 1, "gone");
	/* A poll that had been open counts as "seen" until now. */
	if (p->state == POLL_PARKED)
		registry_touch(p->px->registry, p->fqdn, proxy_now_ms(p->px));
	poll_close(p, why);
}

static void
poll_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poll *p = arg;

	registry_remove(p->px->registry, &p->w);
	registry_touch(p->px->registry, p->fqdn, proxy_now_ms(p->px));
	metric_add(p->px->stats->polls, 1, "no_work");
	httpreq_reply(p->req, 204, NULL, NULL, 0);
	poll_close(p, "no work within --poll.timeout");
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
		*why = "FQDN longer than 253 bytes";
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

static void
poll_reject(struct poll *p, int status, const char *text, const char *why)
{
	metric_add(p->px->stats->polls, 1, "rejected");
	log_warn("poll rejected", "peer", httpreq_peer(p->req), "reason", why);
	httpreq_reply_text(p->req, status, text);
	poll_close(p, why);
}

static void
poll_body_cb(struct httpreq *req, void *arg)
{
	struct poll *p = arg;
	struct proxy *px = p->px;
	const struct buf *body = httpreq_body(req);
	struct registry_waiter *match = NULL;
	const char *why;
	char msg[512];
	struct timeval tv;
	int status;

	if (poll_parse_fqdn(buf_cstr(body), body->len, p->fqdn,
	    sizeof(p->fqdn), &why) == -1) {
		snprintf(msg, sizeof(msg), "invalid poll: %s", why);
		poll_reject(p, 400, msg, why);
		return;
	}
	if (auth_client(px->auth, req, p->fqdn, p->identity, &status, msg,
	    sizeof(msg)) == -1) {
		poll_reject(p, status, msg, msg);
		return;
	}
	switch (registry_add_poll(px->registry, p->fqdn, proxy_now_ms(px),
	    &p->w, &match)) {
	case REGISTRY_MATCHED:
		scrape_hand_to_poll(match->owner, p);
		return;
	case REGISTRY_QUEUED:
		break;
	case REGISTRY_FULL:
		snprintf(msg, sizeof(msg), "too many polls waiting for FQDN "
		    "\"%s\" (limit set by --poll.max-per-client)", p->fqdn);
		poll_reject(p, 429, msg, "poll limit for FQDN reached");
		return;
	default:
		poll_reject(p, 503, "out of memory", "out of memory");
		return;
	}
	if ((p->timer = evtimer_new(px->base, poll_timeout_cb, p)) == NULL) {
		poll_reject(p, 503, "out of memory", "out of memory");
		return;
	}
	p->state = POLL_PARKED;
	duration_to_timeval(px->cfg->poll_timeout_ms, &tv);
	evtimer_add(p->timer, &tv);
	log_debug("poll parked", "fqdn", p->fqdn, "peer", httpreq_peer(req));
}

void
poll_start(struct proxy *px, struct httpreq *req)
{
	struct poll *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		httpreq_reply_text(req, 503, "out of memory");
		return;
	}
	p->px = px;
	p->req = req;
	p->state = POLL_READING;
	p->w.owner = p;
	httpreq_set_abort_cb(req, poll_abort_cb, p);
	httpreq_read_body(req, LIMIT_MAX_POLL_BODY_BYTES, poll_body_cb, p);
}

void
poll_deliver(struct poll *p, const struct buf *request,
    void (*sent)(int ok, void *arg), void *arg)
{
	metric_add(p->px->stats->polls, 1, "scrape");
	registry_touch(p->px->registry, p->fqdn, proxy_now_ms(p->px));
	httpreq_set_sent_cb(p->req, sent, arg);
	httpreq_reply(p->req, 200, "message/http", request->data, request->len);
	poll_close(p, "scrape delivered");
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
