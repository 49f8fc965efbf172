/*
 * Pushes.  States: HEAD (parsing the pushed response's head) -> RELAYING
 * (bound to a scrape, body bytes forwarded) -> DRAINING (the relay ended
 * or the scrape went away; the rest of the push body is read and
 * dropped) -> answered and freed.  The pushed response may carry a
 * Content-Length body, a chunked body, or a body that ends with the push
 * request; the parser removes chunking and the scraper's reply gets its
 * own framing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "config.h"
#include "hop.h"
#include "httpmsg.h"
#include "httpserver.h"
#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "push.h"
#include "scrape.h"
#include "stats.h"

enum push_state {
	PUSH_HEAD,
	PUSH_RELAYING,
	PUSH_DRAINING,
};

struct push {
	struct proxy	*px;
	struct httpreq	*req;
	struct httpmsg	*resp;
	struct scrape	*scrape;
	enum push_state	 state;
	int64_t		 bytes;		/* push body bytes read */
	int		 status;	/* our answer to the pusher */
	const char	*outcome;
	char		 message[256];
	char		 identity[AUTH_IDENTITY_LEN];
};

static int	push_head_cb(struct httpmsg *, void *);
static int	push_resp_body_cb(struct httpmsg *, const char *, size_t,
		    void *);
static int	push_resp_done_cb(struct httpmsg *, void *);

static const struct httpmsg_cbs push_resp_cbs = {
	.headers_cb = push_head_cb,
	.body_cb = push_resp_body_cb,
	.complete_cb = push_resp_done_cb,
};

static void
push_close(struct push *p, const char *reason)
{
	log_debug("push closed", "peer", p->req != NULL ?
	    httpreq_peer(p->req) : "", "reason", reason);
	httpmsg_free(p->resp);
	free(p);
}

/* Decides the pusher's answer; sent when its body has been read. */
static void
push_settle(struct push *p, int status, const char *outcome, const char *msg)
{
	if (p->outcome != NULL)
		return;
	p->status = status;
	p->outcome = outcome;
	snprintf(p->message, sizeof(p->message), "%s", msg);
	p->state = PUSH_DRAINING;
}

/* Answers the pusher now and frees the push. */
static void
push_answer(struct push *p)
{
	struct httpreq *req = p->req;

	metric_add(p->px->stats->pushes, 1, p->outcome);
	if (p->status >= 400)
		log_warn("push refused", "peer", httpreq_peer(req), "status",
		    httpmsg_reason_phrase(p->status), "reason", p->message);
	httpreq_reply_text(req, p->status, p->message);
	p->req = NULL;
	push_close(p, p->outcome);
}

/* The relay broke (bad push): cut the scraper, tell the pusher. */
static void
push_fail(struct push *p, int status, const char *outcome, const char *msg)
{
	if (p->state == PUSH_RELAYING && p->scrape != NULL) {
		scrape_relay_fail(p->scrape, msg);
		p->scrape = NULL;
	}
	push_settle(p, status, outcome, msg);
}

static int
push_head_cb(struct httpmsg *m, void *arg)
{
	struct push *p = arg;
	struct httpreq *sreq;
	const struct httpmsg_header *h;
	const char *id = httpmsg_header(m, "Id"), *reason;
	char msg[256];
	size_t i;
	int64_t len;
	int forbidden;

	if (id == NULL) {
		push_settle(p, 400, "malformed", "pushed response has no Id "
		    "header");
		return 0;
	}
	if ((p->scrape = scrape_claim(p->px, id, p->identity, p,
	    &forbidden)) == NULL && forbidden) {
		snprintf(msg, sizeof(msg), "scrape \"%.64s\" was handed to "
		    "another client; only it may push the result", id);
		push_settle(p, 403, "forbidden", msg);
		return 0;
	}
	if (p->scrape == NULL) {
		snprintf(msg, sizeof(msg), "no scrape is waiting for id "
		    "\"%.64s\" (unknown, timed out or already answered)", id);
		push_settle(p, 404, "unknown_id", msg);
		return 0;
	}
	p->state = PUSH_RELAYING;
	sreq = scrape_req(p->scrape);
	for (i = 0; (h = httpmsg_header_at(m, i)) != NULL; i++) {
		if (!hop_forwards_msg(HOP_PUSH_TO_SCRAPER, m, h->name))
			continue;
		if (httpreq_add_header(sreq, h->name, h->value) == -1)
			log_warn("pushed header dropped", "fqdn",
			    scrape_fqdn(p->scrape), "header", h->name);
	}
	len = httpmsg_chunked(m) ? -1 : httpmsg_content_length(m);
	reason = httpmsg_reason(m);
	httpreq_reply_start(sreq, httpmsg_status(m),
	    *reason != '\0' ? reason : NULL, len);
	return 0;
}

static void
push_drain_cb(struct httpreq *sreq, void *arg)
{
	struct push *p = arg;

	if (p->req != NULL &&
	    httpreq_reply_queued(sreq) <= LIMIT_RELAY_HIGH_WATER / 2)
		httpreq_resume_body(p->req);
}

static int
push_resp_body_cb(struct httpmsg *m, const char *data, size_t len, void *arg)
{
	struct push *p = arg;
	struct httpreq *sreq;

	if (p->state != PUSH_RELAYING)
		return 0;
	sreq = scrape_req(p->scrape);
	if (httpreq_reply_write(sreq, data, len) == -1) {
		push_fail(p, 503, "failed", "cannot queue data for the scraper");
		return 0;
	}
	metric_add(p->px->stats->relayed_bytes, (double)len);
	if (httpreq_reply_queued(sreq) > LIMIT_RELAY_HIGH_WATER) {
		httpreq_set_drain_cb(sreq, push_drain_cb, p);
		httpreq_pause_body(p->req);
	}
	return 0;
}

static int
push_resp_done_cb(struct httpmsg *m, void *arg)
{
	struct push *p = arg;

	if (p->state == PUSH_RELAYING) {
		scrape_relay_end(p->scrape);
		p->scrape = NULL;
		push_settle(p, 200, "relayed", "OK");
	}
	return 0;
}

static void
push_body_cb(struct httpreq *req, const char *data, size_t len, void *arg)
{
	struct push *p = arg;
	char msg[128];

	p->bytes += (int64_t)len;
	if (p->bytes > p->px->cfg->max_push_bytes) {
		snprintf(msg, sizeof(msg), "push body larger than %lld bytes "
		    "(limit set by --push.max-size)",
		    (long long)p->px->cfg->max_push_bytes);
		push_fail(p, 413, "too_large", msg);
		/* Answer now: reading on would defeat the limit. */
		push_answer(p);
		return;
	}
	if (p->state == PUSH_DRAINING)
		return;
	if (httpmsg_feed(p->resp, data, len) == -1) {
		snprintf(msg, sizeof(msg), "push body is not a valid HTTP "
		    "response: %s", httpmsg_error(p->resp));
		push_fail(p, 400, "malformed", msg);
	}
}

static void
push_done_cb(struct httpreq *req, void *arg)
{
	struct push *p = arg;
	char msg[128];

	if (p->state != PUSH_DRAINING && httpmsg_feed_eof(p->resp) == -1) {
		snprintf(msg, sizeof(msg), "push body is not a complete HTTP "
		    "response: %s", httpmsg_error(p->resp));
		push_fail(p, 400, "malformed", msg);
	}
	push_answer(p);
}

static void
push_abort_cb(struct httpreq *req, const char *why, void *arg)
{
	struct push *p = arg;

	if (p->state == PUSH_RELAYING && p->scrape != NULL)
		scrape_relay_fail(p->scrape, "client connection lost during "
		    "push");
	metric_add(p->px->stats->pushes, 1, "failed");
	p->req = NULL;
	push_close(p, why);
}

void
push_detach(struct push *p, const char *why)
{
	p->scrape = NULL;
	push_settle(p, 410, "discarded", why);
	/* Answer now: the client need not upload the rest for nothing. */
	if (p->req != NULL)
		push_answer(p);
}

void
push_start(struct proxy *px, struct httpreq *req)
{
	struct push *p;
	char identity[AUTH_IDENTITY_LEN], why[256];
	int status;

	if (auth_client(px->auth, req, NULL, identity, &status, why,
	    sizeof(why)) == -1) {
		metric_add(px->stats->pushes, 1, "forbidden");
		log_warn("push refused", "peer", httpreq_peer(req), "reason",
		    why);
		httpreq_reply_text(req, status, why);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->resp = httpmsg_new(HTTPMSG_RESPONSE,
	    (size_t)px->cfg->max_header_bytes, &push_resp_cbs, p)) == NULL) {
		free(p);
		httpreq_reply_text(req, 503, "out of memory");
		return;
	}
	memcpy(p->identity, identity, sizeof(p->identity));
	p->px = px;
	p->req = req;
	p->state = PUSH_HEAD;
	httpreq_set_abort_cb(req, push_abort_cb, p);
	httpreq_stream_body(req, push_body_cb, push_done_cb, p);
}
