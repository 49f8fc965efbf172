/*
 * One HTTP/1.1 connection's lifecycle, with an explicit state:
 *
 *   IDLE --head bytes--> READING --message complete--> HANDLING
 *     ^                    | (handler may reply early)    |
 *     +---- reply queued (keep-alive) <-------------------+
 *   any --error, EOF, timeout, abort--> closed (httpserver_conn_close)
 *   CLOSING: reply queued with Connection: close; freed once flushed.
 *
 * At most one request per connection is in flight; pipelined bytes wait in
 * the input buffer, where they are bounded by the header cap.  Reading is
 * never switched off while a request is parked, so EOF is seen at once.
 * A connection is never freed inside its own parser callbacks:
 * httpserver_conn_close only marks it there, and the feeding code frees
 * it when the parser returns.  Socket I/O is httpconnio.c, deadlines
 * httpdeadline.c, what handlers call (bodies, replies) httpreq.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "httpserver_int.h"
#include "log.h"
#include "pushprox_limits.h"

static int	conn_headers_cb(struct httpmsg *, void *);
static int	conn_body_cb(struct httpmsg *, const char *, size_t, void *);
static int	conn_complete_cb(struct httpmsg *, void *);

static const struct httpmsg_cbs conn_msg_cbs = {
	.headers_cb = conn_headers_cb,
	.body_cb = conn_body_cb,
	.complete_cb = conn_complete_cb,
};

static const char *
conn_state_name(enum conn_state s)
{
	switch (s) {
	case CONN_IDLE: return "idle";
	case CONN_READING: return "reading";
	case CONN_HANDLING: return "handling";
	case CONN_CLOSING: return "closing";
	}
	return "?";
}

void
httpserver_conn_set_state(struct httpconn *c, enum conn_state s)
{
	if (c->state == s)
		return;
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("connection state", "peer", c->peer,
		    "from", conn_state_name(c->state),
		    "to", conn_state_name(s));
	c->state = s;
	httpserver_conn_set_timeouts(c);
	if (s == CONN_READING)
		httpserver_conn_head_arm(c);
	else
		evtimer_del(c->head_ev);
	httpserver_conn_idle_update(c);
}

/* Tells the handler its request is lost; at most once. */
static void
req_notify_abort(struct httpreq *r, const char *why)
{
	httpreq_abort_cb cb = r->abort_cb;

	r->abort_cb = NULL;
	if (cb != NULL)
		cb(r, why, r->abort_arg);
}

static struct httpreq *
req_new(struct httpconn *c)
{
	struct httpreq *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->conn = c;
	buf_init(&r->body, 0);
	buf_init(&r->reply_headers, LIMIT_REPLY_HEADER_BYTES);
	return r;
}

static void
req_free(struct httpreq *r)
{
	if (r == NULL)
		return;
	buf_release(&r->body);
	buf_release(&r->reply_headers);
	free(r);
}

void
httpserver_conn_notify_sent(struct httpconn *c, int ok)
{
	httpreq_sent_cb cb = c->sent_cb;

	c->sent_cb = NULL;
	if (cb != NULL)
		cb(ok, c->sent_arg);
}

/*
 * The server's one processing event: runs the connections scheduled
 * before it started (those scheduled meanwhile wait for the next turn,
 * as with one event each; a closed connection leaves the list).
 */
void
httpserver_process_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpserver *s = arg;
	struct httpconn *c;
	size_t n = s->nscheduled;

	while (n-- > 0 && (c = TAILQ_FIRST(&s->scheduled)) != NULL) {
		TAILQ_REMOVE(&s->scheduled, c, sched_entry);
		s->nscheduled--;
		c->scheduled = 0;
		httpserver_conn_flush(c);	/* a held head, no body bytes */
		httpserver_conn_process(c);
	}
	if (s->nscheduled > 0)
		event_active(s->process_ev, EV_READ, 0);
}

struct httpconn *
httpserver_conn_new(struct httpserver *s, int fd, const char *peer)
{
	struct httpconn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("connection refused: out of memory", "peer", peer);
		evutil_closesocket(fd);
		return NULL;
	}
	c->srv = s;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	if (s->tls != NULL) {
		SSL *ssl = SSL_new(s->tls);

		c->bev = ssl == NULL ? NULL : bufferevent_openssl_socket_new(
		    s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL)
			SSL_free(ssl);
		else	/* a peer's plain close is its EOF, not an error */
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(s->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		c->plain = 1;
	}
	c->msg = httpmsg_new(HTTPMSG_REQUEST, s->cfg.max_header_bytes,
	    &conn_msg_cbs, c);
	c->head_ev = evtimer_new(s->base, httpserver_conn_head_timeout_cb, c);
	if (c->bev == NULL || c->msg == NULL || c->head_ev == NULL ||
	    httpserver_conn_io_new(c) == -1) {
		httpserver_conn_io_free(c);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		httpmsg_free(c->msg);
		if (c->head_ev != NULL)
			event_free(c->head_ev);
		free(c);
		log_warn("connection refused: out of memory setting it up",
		    "peer", peer);
		return NULL;
	}
	c->state = CONN_IDLE;
	return c;
}

void
httpserver_conn_close(struct httpconn *c, const char *why)
{
	struct httpreq *r = c->req;

	if (c->in_feed) {
		if (c->close_reason == NULL)
			c->close_reason = why;
		return;
	}
	log_debug("connection closed", "peer", c->peer, "reason", why);
	httpserver_conn_notify_sent(c, httpserver_conn_queued(c) == 0);
	c->req = NULL;
	if (r != NULL) {
		req_notify_abort(r, why);
		req_free(r);
	}
	if (c->idle_listed)
		TAILQ_REMOVE(&c->srv->idle, c, idle_entry);
	TAILQ_REMOVE(&c->srv->conns, c, entry);
	c->srv->nconns--;
	httpserver_conn_io_free(c);	/* our read event, before the fd */
	bufferevent_free(c->bev);
	if (c->scheduled) {
		TAILQ_REMOVE(&c->srv->scheduled, c, sched_entry);
		c->srv->nscheduled--;
	}
	event_free(c->head_ev);
	httpmsg_free(c->msg);
	free(c);
}

void
httpserver_conn_schedule(struct httpconn *c)
{
	struct httpserver *s = c->srv;

	if (!c->scheduled) {
		TAILQ_INSERT_TAIL(&s->scheduled, c, sched_entry);
		s->nscheduled++;
		c->scheduled = 1;
	}
	event_active(s->process_ev, EV_READ, 0);
}

/* Whether buffered input may be parsed now. */
static int
conn_may_parse(const struct httpconn *c)
{
	return !c->out_paused && (c->state == CONN_IDLE ||
	    c->state == CONN_READING) &&
	    (c->req == NULL || !c->req->body_paused);
}

/*
 * What a feed that returned n asks for; 1 when c must not be touched
 * any more (freed, finished, or answered with an error).
 */
static int
conn_after_feed(struct httpconn *c, ssize_t n)
{
	if (c->close_reason != NULL) {
		httpserver_conn_close(c, c->close_reason);
		return 1;
	}
	if (c->finish_pending) {
		c->finish_pending = 0;
		httpserver_conn_finish(c);
		return 1;
	}
	if (n == -1 && strcmp(httpmsg_error(c->msg), HTTPMSG_ERR_NOMEM) == 0) {
		/* Ours, not the peer's: 503, and said once. */
		log_warn("request refused: out of memory parsing its head",
		    "peer", c->peer);
		httpserver_conn_reply_error(c, 503, HTTPMSG_ERR_NOMEM);
		return 1;
	}
	if (n == -1) {
		httpserver_conn_reply_error(c, 400, httpmsg_error(c->msg));
		return 1;
	}
	return 0;
}

static ssize_t
conn_feed(struct httpconn *c, const char *p, size_t len)
{
	ssize_t n;

	/* A pipelined head starts here: its deadline too. */
	if (c->state == CONN_IDLE)
		httpserver_conn_set_state(c, CONN_READING);
	c->in_feed = 1;
	n = httpmsg_feed(c->msg, p, len);
	c->in_feed = 0;
	return n;
}

void
httpserver_conn_process(struct httpconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	size_t left;
	ssize_t n;

	while (conn_may_parse(c)) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		n = conn_feed(c, v.iov_base, v.iov_len);
		if (n > 0)
			evbuffer_drain(in, (size_t)n);
		if (conn_after_feed(c, n))
			return;
		if (n == 0)
			break;
	}
	/*
	 * A paused body stops reading until resumed: the input stays
	 * bounded (and libevent 2.1.12 would keep calling a TLS read
	 * callback at its high-water mark, libevent #891).
	 */
	if (c->req != NULL && c->req->body_paused && c->reading)
		httpserver_conn_reading(c, 0);
	/* Pipelined bytes wait for the reply; the read limit bounds them. */
	left = evbuffer_get_length(in);
	if (c->state == CONN_HANDLING && (left >= LIMIT_READ_CHUNK ||
	    left > c->srv->cfg.max_header_bytes))
		httpserver_conn_close(c, "too many pipelined bytes");
}

void
httpserver_conn_take(struct httpconn *c, const char *p, size_t len)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	ssize_t n;

	if (evbuffer_get_length(in) > 0 || !conn_may_parse(c)) {
		if (evbuffer_add(in, p, len) == -1) {
			log_warn("connection closed: out of memory for its "
			    "input", "peer", c->peer);
			httpserver_conn_close(c, "out of memory");
			return;
		}
		httpserver_conn_process(c);
		return;
	}
	n = conn_feed(c, p, len);
	/* What the parser did not take waits in the input buffer. */
	if (n >= 0 && (size_t)n < len && evbuffer_add(in, p + n,
	    len - (size_t)n) == -1 && c->close_reason == NULL)
		c->close_reason = "out of memory";
	if (conn_after_feed(c, n))
		return;
	httpserver_conn_process(c);
}

static int
conn_headers_cb(struct httpmsg *m, void *arg)
{
	struct httpconn *c = arg;
	struct httpreq *r;

	evtimer_del(c->head_ev);	/* the head is in, in time */
	if ((r = req_new(c)) == NULL) {
		log_warn("connection closed: out of memory for a request",
		    "peer", c->peer);
		c->close_reason = "out of memory";
		return -1;
	}
	event_base_gettimeofday_cached(c->srv->base, &r->start);
	c->req = r;
	c->nrequests++;
	c->keep_alive = httpmsg_keep_alive(m) != 0;
	log_debug("request", "peer", c->peer, "method", httpmsg_method(m),
	    "target", httpmsg_target(m));
	c->srv->cb(r, c->srv->arg);
	return 0;
}

static int
conn_body_cb(struct httpmsg *m, const char *data, size_t len, void *arg)
{
	struct httpconn *c = arg;
	struct httpreq *r = c->req;

	if (r == NULL || r->reply_started)
		return 0;	/* answered early: the rest is dropped */
	switch (r->body_mode) {
	case BODY_DISCARD:
		break;
	case BODY_BUFFER:
		if (buf_append(&r->body, data, len) == -1) {
			char lim[32];

			snprintf(lim, sizeof(lim), "%zu", r->body.max);
			log_warn("request body too large", "peer", c->peer,
			    "target", httpmsg_target(m), "limit_bytes", lim);
			req_notify_abort(r, "request body too large");
			httpreq_reply_text(r, 413, "request body too large");
		}
		break;
	case BODY_STREAM:
		r->body_cb(r, data, len, r->body_arg);
		break;
	}
	return 0;
}

static int
conn_complete_cb(struct httpmsg *m, void *arg)
{
	struct httpconn *c = arg;
	struct httpreq *r = c->req;

	if (c->state == CONN_READING)
		httpserver_conn_set_state(c, CONN_HANDLING);
	if (r == NULL)
		return 0;
	r->body_done = 1;
	if (!r->reply_started && r->done_cb != NULL)
		r->done_cb(r, r->body_arg);
	return 0;
}

void
httpserver_conn_reply_error(struct httpconn *c, int status, const char *text)
{
	if (c->req != NULL && c->req->reply_started) {
		httpserver_conn_close(c, text);
		return;
	}
	if (c->req != NULL)
		req_notify_abort(c->req, text);
	else if ((c->req = req_new(c)) == NULL) {
		log_warn("connection closed: out of memory for an error reply",
		    "peer", c->peer, "error", text);
		httpserver_conn_close(c, "out of memory");
		return;
	}
	log_debug("bad request", "peer", c->peer, "error", text);
	c->keep_alive = 0;
	httpreq_reply_text(c->req, status, text);
}

void
httpserver_conn_finish(struct httpconn *c)
{
	struct httpreq *r = c->req;

	if (c->in_feed) {
		/* Never reset the parser under its own callbacks. */
		c->finish_pending = 1;
		return;
	}
	httpserver_conn_flush(c);
	if (r != NULL && r->sent_cb != NULL) {
		/* One watched reply at a time; an older one counts as sent. */
		httpserver_conn_notify_sent(c, 1);
		c->sent_cb = r->sent_cb;
		c->sent_arg = r->sent_arg;
		r->sent_cb = NULL;
		/* Written straight to the socket: it has left already. */
		if (httpserver_conn_queued(c) == 0)
			httpserver_conn_notify_sent(c, 1);
	}
	c->req = NULL;
	if (!c->keep_alive || r == NULL || !r->body_done) {
		/* An unread body or "close" ends the connection. */
		req_free(r);
		httpserver_conn_set_state(c, CONN_CLOSING);
		httpserver_conn_reading(c, 0);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		if (httpserver_conn_queued(c) == 0)
			httpserver_conn_close(c,
			    "reply sent, connection: close");
		return;
	}
	req_free(r);
	httpmsg_reset(c->msg);
	httpserver_conn_set_state(c, CONN_IDLE);
	if (httpserver_conn_pause_output(c))
		return;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	httpserver_conn_reading(c, 1);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		httpserver_conn_schedule(c);
	httpserver_conn_idle_update(c);
}
