/*
 * Pushes.  States: HEAD (parsing the pushed response's head; interim 1xx
 * responses are skipped here, bound to the scrape their Id names) ->
 * RELAYING (the final head went out, body bytes forwarded) -> DRAINING
 * (the relay ended or the scrape went away; the rest of the push body is
 * read and dropped) -> answered and freed by push_close, the one teardown,
 * which counts the outcome.  Only push_set_state changes the state.  The
 * pushed response may carry a Content-Length body, a chunked body, or a
 * body that ends with the push request; the parser removes chunking and
 * the scraper's reply gets its own framing.
 *
 * What reaches the scraper is what RFC 9110 allows, whatever was pushed:
 * a final status in 100-599 (else a 502 naming it), no body after a 204,
 * a 304 or for HEAD (the relay ends with the head; pushed body bytes are
 * dropped), every forwarded header (the reply's header room is sized from
 * the cap the pushed head was parsed under), and a sane reason phrase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clientauth.h"
#include "config.h"
#include "hop.h"
#include "httpmsg.h"
#include "httpreq.h"
#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "poll.h"
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
	struct buf	 raw;		/* the first head, to find its Id if
					   it cannot be parsed */
	int		 interim;	/* current message is a 1xx */
	int		 ninterim;	/* 1xx skipped so far */
	int		 next;		/* message done: parse the next */
	size_t		 fed;		/* bytes fed to the current message */
	int		 status;	/* our answer to the pusher */
	const char	*outcome;
	char		 message[256];
	char		 identity[CLIENTAUTH_IDENTITY_LEN];
	char		 fqdn[LIMIT_MAX_FQDN_BYTES + 1]; /* Pushprox-Fqdn,
					   "" if not sent */
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

static const char *
push_state_name(enum push_state st)
{
	switch (st) {
	case PUSH_HEAD: return "head";
	case PUSH_RELAYING: return "relaying";
	case PUSH_DRAINING: return "draining";
	}
	return "?";
}

/* The only writer of p->state. */
static void
push_set_state(struct push *p, enum push_state st)
{
	log_debug("push state", "peer", p->req != NULL ?
	    httpreq_peer(p->req) : "", "from", push_state_name(p->state),
	    "to", push_state_name(st));
	p->state = st;
}

/*
 * The single teardown: counts the outcome (pushprox_pushes_total:
 * relayed, forbidden, unknown_id, malformed, too_large, discarded,
 * failed) and frees the push; its request has been answered or is gone.
 */
static void
push_close(struct push *p, const char *outcome, const char *why)
{
	log_debug("push closed", "peer", p->req != NULL ?
	    httpreq_peer(p->req) : "", "state", push_state_name(p->state),
	    "outcome", outcome, "reason", why);
	metric_add(p->px->stats->pushes, 1, outcome);
	httpmsg_free(p->resp);
	buf_release(&p->raw);
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
	push_set_state(p, PUSH_DRAINING);
}

/* Answers the pusher now and frees the push. */
static void
push_answer(struct push *p)
{
	struct httpreq *req = p->req;

	if (p->status >= 400)
		log_warn("push refused", "peer", httpreq_peer(req), "status",
		    httpmsg_reason_phrase(p->status), "reason", p->message);
	httpreq_reply_text(req, p->status, p->message);
	p->req = NULL;
	push_close(p, p->outcome, p->message);
}

/*
 * The relay broke (bad push): the scraper gets a 502 naming why (or, mid-
 * body, its connection cut), the pusher its answer.
 */
static void
push_fail(struct push *p, int status, const char *outcome, const char *msg)
{
	if (p->state != PUSH_DRAINING && p->scrape != NULL) {
		scrape_relay_fail(p->scrape, msg);
		p->scrape = NULL;
	}
	push_settle(p, status, outcome, msg);
}

/* Binds the scrape id names; 0, or -1 after settling the push's answer. */
static int
push_claim(struct push *p, const char *id)
{
	enum scrape_claim_refusal refusal;
	char msg[256];

	p->scrape = scrape_claim(p->px, id, p->identity, p->fqdn[0] != '\0' ?
	    p->fqdn : NULL, p, &refusal);
	if (refusal == SCRAPE_CLAIM_IDENTITY) {
		snprintf(msg, sizeof(msg), "scrape \"%.64s\" was handed to "
		    "another client; only it may push the result", id);
		push_settle(p, 403, "forbidden", msg);
		return -1;
	}
	if (refusal == SCRAPE_CLAIM_FQDN) {
		snprintf(msg, sizeof(msg), "Pushprox-Fqdn \"%.100s\" is not "
		    "the FQDN of scrape \"%.64s\"", p->fqdn, id);
		scrape_note_refusal(p->px, id, p->identity, msg);
		push_settle(p, 400, "malformed", msg);
		return -1;
	}
	if (p->scrape == NULL) {
		snprintf(msg, sizeof(msg), "no scrape is waiting for id "
		    "\"%.64s\" (unknown, timed out or already answered)", id);
		push_settle(p, 404, "unknown_id", msg);
		return -1;
	}
	return 0;
}

/*
 * The first head could not be parsed (too large, malformed): finds its Id
 * line in the raw bytes and notes why on that scrape, which stays
 * claimable (the client may push again) and names why if it times out.
 * Best effort: no Id within the bytes kept, no note.
 */
static void
push_note_raw(struct push *p, const char *why)
{
	const char *line;
	char id[65];
	size_t n;

	for (line = strchr(buf_cstr(&p->raw), '\n'); line != NULL;
	    line = strchr(line + 1, '\n')) {
		if (strncasecmp(line + 1, "Id:", 3) != 0)
			continue;
		line += 4;
		line += strspn(line, " \t");
		n = strcspn(line, " \t\r\n");
		if (n == 0 || n >= sizeof(id) || line[n] == '\0')
			return;
		memcpy(id, line, n);
		id[n] = '\0';
		scrape_note_refusal(p->px, id, p->identity, why);
		return;
	}
}

/* Keeps the first head (up to the parser's cap) for push_note_raw. */
static void
push_keep_raw(struct push *p, const char *data, size_t len)
{
	size_t room = p->raw.max - p->raw.len;

	if (buf_append(&p->raw, data, len < room ? len : room) == -1)
		buf_release(&p->raw);	/* out of memory: no Id search */
}

/* An interim (1xx) head: not relayed; the final response follows it. */
static int
push_interim_head(struct push *p, struct httpmsg *m)
{
	char msg[160];

	if (++p->ninterim > LIMIT_MAX_INTERIM_RESPONSES) {
		snprintf(msg, sizeof(msg), "more than %d interim (1xx) "
		    "responses before the final one",
		    LIMIT_MAX_INTERIM_RESPONSES);
		push_fail(p, 400, "malformed", msg);
		return 0;
	}
	log_debug("interim response skipped", "fqdn",
	    scrape_fqdn(p->scrape), "reason", httpmsg_reason(m));
	p->interim = 1;
	return 0;
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
	int status = httpmsg_status(m);

	buf_release(&p->raw);
	/* The first head names the scrape; interim ones before the final. */
	if (p->scrape == NULL) {
		if (id == NULL) {
			push_settle(p, 400, "malformed", "pushed response has "
			    "no Id header");
			return 0;
		}
		if (push_claim(p, id) == -1)
			return 0;
	}
	if (status >= 100 && status < 200 && status != 101)
		return push_interim_head(p, m);
	if (status < 100 || status > 599) {
		snprintf(msg, sizeof(msg), "pushed response has status %d "
		    "(HTTP allows 100-599)", status);
		push_fail(p, 400, "malformed", msg);
		return 0;
	}
	if (status == 101) {
		push_fail(p, 400, "malformed", "pushed response is a 101 "
		    "Switching Protocols; a scrape cannot switch protocols");
		return 0;
	}
	sreq = scrape_req(p->scrape);
	/* Room for every header the parser took: they fit by construction. */
	httpreq_reserve_headers(sreq, (size_t)p->px->cfg->max_header_bytes);
	for (i = 0; (h = httpmsg_header_at(m, i)) != NULL; i++) {
		if (!hop_forwards_msg(HOP_PUSH_TO_SCRAPER, m, h->name))
			continue;
		if (httpreq_add_header(sreq, h->name, h->value) == -1) {
			snprintf(msg, sizeof(msg), "pushed header \"%.64s\" "
			    "cannot be relayed (invalid, or out of memory)",
			    h->name);
			push_fail(p, 400, "malformed", msg);
			return 0;
		}
	}
	len = httpmsg_chunked(m) ? -1 : httpmsg_content_length(m);
	reason = httpmsg_reason(m);
	push_set_state(p, PUSH_RELAYING);
	if (scrape_relay_start(p->scrape, status, *reason != '\0' ? reason :
	    NULL, len) == -1) {
		/* A 502 went out in its place; end that reply. */
		scrape_relay_end(p->scrape);
		p->scrape = NULL;
		push_settle(p, 503, "failed", "the relayed head could not be "
		    "written (out of memory)");
		return 0;
	}
	if (httpreq_bodyless(sreq, status)) {
		/* 204, 304, or HEAD: the head is all; the rest is dropped. */
		scrape_relay_end(p->scrape);
		p->scrape = NULL;
		push_settle(p, 200, "relayed", "OK");
	}
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
		push_fail(p, 503, "failed",
		    "cannot queue data for the scraper");
		return 0;
	}
	stats_relayed(p->px->stats, scrape_fqdn(p->scrape), len);
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

	if (p->state == PUSH_HEAD && p->interim) {
		/* The next message follows in the same push body. */
		p->interim = 0;
		p->next = 1;
		return 0;
	}
	if (p->state == PUSH_RELAYING) {
		scrape_relay_end(p->scrape);
		p->scrape = NULL;
		push_settle(p, 200, "relayed", "OK");
	}
	return 0;
}

/* The pushed bytes do not parse: the push gets a 400 naming why. */
static void
push_feed_fail(struct push *p, const char *what)
{
	const char *err = httpmsg_error(p->resp);
	char msg[256];

	if (p->ninterim > 0 && p->fed == 0 && !httpmsg_head_done(p->resp))
		snprintf(msg, sizeof(msg), "pushed response has only interim "
		    "(1xx) responses, no final one");
	else if (!httpmsg_head_done(p->resp) && (strstr(err, "too large") !=
	    NULL || strstr(err, "too many") != NULL))
		snprintf(msg, sizeof(msg), "%s: %s (limits: %lld bytes, set "
		    "by --web.max-header-size, and %d headers)", what, err,
		    (long long)p->px->cfg->max_header_bytes,
		    LIMIT_MAX_HEADERS);
	else
		snprintf(msg, sizeof(msg), "%s: %s", what, err);
	if (p->state == PUSH_HEAD && p->scrape == NULL)
		push_note_raw(p, msg);
	push_fail(p, 400, "malformed", msg);
}

static void
push_body_cb(struct httpreq *req, const char *data, size_t len, void *arg)
{
	struct push *p = arg;
	char msg[128];
	ssize_t n;

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
	while (p->state != PUSH_DRAINING && len > 0) {
		n = httpmsg_feed(p->resp, data, len);
		/* A first head spanning reads is kept, to find its Id. */
		if (p->state == PUSH_HEAD && p->scrape == NULL &&
		    (n == -1 || !httpmsg_head_done(p->resp)))
			push_keep_raw(p, data, len);
		if (n == -1) {
			push_feed_fail(p, "push body is not a valid HTTP "
			    "response");
			return;
		}
		p->fed += (size_t)n;
		if (!p->next)
			return;
		/* An interim response ended: parse what follows afresh. */
		p->next = 0;
		p->fed = 0;
		httpmsg_reset(p->resp);
		data += n;
		len -= (size_t)n;
	}
}

static void
push_done_cb(struct httpreq *req, void *arg)
{
	struct push *p = arg;

	if (p->state != PUSH_DRAINING && httpmsg_feed_eof(p->resp) == -1)
		push_feed_fail(p, "push body is not a complete HTTP response");
	push_answer(p);
}

static void
push_abort_cb(struct httpreq *req, const char *why, void *arg)
{
	struct push *p = arg;

	if (p->state != PUSH_DRAINING && p->scrape != NULL)
		scrape_relay_fail(p->scrape, "client connection lost during "
		    "push");
	p->req = NULL;
	push_close(p, "failed", why);
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

/*
 * Pushprox-Fqdn, when sent, must be an FQDN the client's identity may
 * claim (push_claim then checks it against the scrape's).  0, or -1 with
 * msg saying why.
 */
static int
push_check_fqdn_header(struct push *p, char *msg, size_t msglen)
{
	const char *h = httpreq_header(p->req, "Pushprox-Fqdn"), *why;
	char identity[CLIENTAUTH_IDENTITY_LEN], reason[256];
	int status;

	if (h == NULL)
		return 0;
	if (poll_parse_fqdn(h, strlen(h), p->fqdn, sizeof(p->fqdn), &why) ==
	    -1) {
		p->fqdn[0] = '\0';
		snprintf(msg, msglen, "invalid Pushprox-Fqdn header: %s", why);
		return -1;
	}
	if (clientauth_identify(p->px->clientauth, p->req, p->fqdn, identity,
	    &status, reason, sizeof(reason)) == -1) {
		snprintf(msg, msglen, "Pushprox-Fqdn \"%.100s\" does not agree "
		    "with the client's identity: %.80s", p->fqdn, reason);
		return -1;
	}
	return 0;
}

void
push_start(struct proxy *px, struct httpreq *req)
{
	struct push *p;
	char why[256];
	int status;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->resp = httpmsg_new(HTTPMSG_RESPONSE,
	    (size_t)px->cfg->max_header_bytes, &push_resp_cbs, p)) == NULL) {
		free(p);
		log_warn("push refused", "peer", httpreq_peer(req), "reason",
		    "out of memory for a new push");
		httpreq_reply_text(req, 503, "pushprox: out of memory");
		return;
	}
	/* What the parser may see of the first head, for push_note_raw. */
	buf_init(&p->raw, (size_t)px->cfg->max_header_bytes);
	p->px = px;
	p->req = req;		/* calloc: PUSH_HEAD */
	if (clientauth_identify(px->clientauth, req, NULL, p->identity,
	    &status, why, sizeof(why)) == -1) {
		push_settle(p, status, "forbidden", why);
		push_answer(p);
		return;
	}
	if (push_check_fqdn_header(p, why, sizeof(why)) == -1) {
		push_settle(p, 400, "malformed", why);
		push_answer(p);
		return;
	}
	httpreq_set_abort_cb(req, push_abort_cb, p);
	httpreq_stream_body(req, push_body_cb, push_done_cb, p);
}
