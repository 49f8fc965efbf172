/*
 * HTTP/1.1 server on bufferevents (see httpserver.h for the guarantees).
 *
 * One struct httpconn per TCP connection, with an explicit state:
 *
 *   IDLE ──head bytes──▶ READING ──message complete──▶ HANDLING
 *     ▲                    │ (handler may reply early)    │
 *     └──── reply queued (keep-alive) ◀───────────────────┘
 *   any ──error, EOF, timeout, abort──▶ closed (httpserver_conn_close)
 *   CLOSING: reply queued with Connection: close; freed once flushed.
 *
 * At most one request per connection is in flight; pipelined bytes wait in
 * the input buffer, where they are bounded by the header cap.  Reading is
 * never switched off while a request is parked, so EOF is seen at once.
 *
 * What a peer cannot stretch:
 * - A request head has a total deadline (read_header_timeout_ms), armed
 *   at accept for a connection's first head (so a TLS handshake counts)
 *   and at the first byte of each later one, never re-armed by more
 *   bytes: trickling a byte at a time does not hold a slot.  The read
 *   timeout stays an inactivity timer, for stalls within heads and bodies.
 * - At the connection cap, the connection idle longest between requests
 *   (on srv->idle: IDLE, one request served, nothing queued either way)
 *   is closed for the newcomer; parked and relaying requests never are.
 * - A peer that pipelines and does not read: after a reply leaves more
 *   than LIMIT_RELAY_HIGH_WATER unsent, the connection neither parses nor
 *   reads until half of it has gone (out_paused), so what it costs is
 *   bounded, and the write timeout ends it if it never reads.
 * A connection is never freed inside its own parser callbacks:
 * httpserver_conn_close only marks it there, and conn_process frees it when
 * the parser returns.  What handlers call (bodies, replies) is httpreq.c.
 */
#include <sys/queue.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <sys/uio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include "duration.h"
#include "httpserver_int.h"
#include "pushprox_limits.h"
#include "listener.h"
#include "log.h"

static void	conn_process(struct httpconn *);
static void	conn_set_state(struct httpconn *, enum conn_state);
static void	conn_idle_update(struct httpconn *);
static void	conn_reply_error(struct httpconn *, int, const char *);

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

static void
conn_set_timeouts(struct httpconn *c)
{
	struct timeval rtv, wtv;
	const struct httpserver_config *cfg = &c->srv->cfg;

	duration_to_timeval(cfg->write_timeout_ms, &wtv);
	switch (c->state) {
	case CONN_IDLE:
		/* A new connection must start its first request promptly. */
		duration_to_timeval(c->nrequests == 0 ? cfg->read_timeout_ms :
		    cfg->idle_timeout_ms, &rtv);
		break;
	case CONN_READING:
		duration_to_timeval(cfg->read_timeout_ms, &rtv);
		break;
	default:
		/* A parked request's deadline belongs to its handler. */
		bufferevent_set_timeouts(c->bev, NULL, &wtv);
		return;
	}
	bufferevent_set_timeouts(c->bev, &rtv, &wtv);
}

/* Starts the head's total deadline, unless it runs already (or is off). */
static void
conn_head_arm(struct httpconn *c)
{
	struct timeval tv;

	if (c->srv->cfg.read_header_timeout_ms <= 0 ||
	    evtimer_pending(c->head_ev, NULL))
		return;
	duration_to_timeval(c->srv->cfg.read_header_timeout_ms, &tv);
	evtimer_add(c->head_ev, &tv);
}

static void
conn_set_state(struct httpconn *c, enum conn_state s)
{
	if (c->state == s)
		return;
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("connection state", "peer", c->peer,
		    "from", conn_state_name(c->state),
		    "to", conn_state_name(s));
	c->state = s;
	conn_set_timeouts(c);
	if (s == CONN_READING)
		conn_head_arm(c);
	else
		evtimer_del(c->head_ev);
	conn_idle_update(c);
}

/*
 * Keeps c on the server's idle list exactly while it may be closed to
 * admit a newcomer: between requests, after at least one, with no input
 * waiting and no reply bytes left to send.  A connection joins at the tail
 * when it becomes idle, so the head is the one idle longest.
 */
static void
conn_idle_update(struct httpconn *c)
{
	int evictable;

	evictable = c->state == CONN_IDLE && c->req == NULL &&
	    c->nrequests > 0 && !c->out_paused &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
	if (evictable && !c->idle_listed) {
		TAILQ_INSERT_TAIL(&c->srv->idle, c, idle_entry);
		c->idle_listed = 1;
	} else if (!evictable && c->idle_listed) {
		TAILQ_REMOVE(&c->srv->idle, c, idle_entry);
		c->idle_listed = 0;
	}
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

static void
req_free(struct httpreq *r)
{
	if (r == NULL)
		return;
	buf_release(&r->body);
	buf_release(&r->reply_headers);
	free(r);
}

/* Reports the fate of a reply that asked for it; at most once. */
static void
conn_notify_sent(struct httpconn *c, int ok)
{
	httpreq_sent_cb cb = c->sent_cb;

	c->sent_cb = NULL;
	if (cb != NULL)
		cb(ok, c->sent_arg);
}

/* The single teardown of a connection: tells the handler, frees all. */
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
	conn_notify_sent(c, evbuffer_get_length(bufferevent_get_output(
	    c->bev)) == 0);
	c->req = NULL;
	if (r != NULL) {
		req_notify_abort(r, why);
		req_free(r);
	}
	if (c->idle_listed)
		TAILQ_REMOVE(&c->srv->idle, c, idle_entry);
	TAILQ_REMOVE(&c->srv->conns, c, entry);
	c->srv->nconns--;
	bufferevent_free(c->bev);
	event_free(c->process_ev);
	event_free(c->head_ev);
	httpmsg_free(c->msg);
	free(c);
}

void
httpserver_conn_schedule(struct httpconn *c)
{
	event_active(c->process_ev, EV_READ, 0);
}

static void
conn_process_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_process(arg);
}

/* Feeds buffered input to the parser as far as the state allows. */
static void
conn_process(struct httpconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	ssize_t n;

	if (c->out_paused)
		return;		/* pipelined requests wait for the peer to read */
	while (c->state == CONN_IDLE || c->state == CONN_READING) {
		if (c->req != NULL && c->req->body_paused) {
			/*
			 * libevent 2.1.12 keeps calling the read callback while
			 * the input sits at its high-water mark (libevent
			 * #891), so stop reading until resumed.
			 */
			bufferevent_disable(c->bev, EV_READ);
			c->in_left = evbuffer_get_length(in);
			return;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		/* A pipelined head starts here: its deadline too. */
		if (c->state == CONN_IDLE)
			conn_set_state(c, CONN_READING);
		c->in_feed = 1;
		n = httpmsg_feed(c->msg, v.iov_base, v.iov_len);
		c->in_feed = 0;
		if (n > 0)
			evbuffer_drain(in, (size_t)n);
		if (c->close_reason != NULL) {
			httpserver_conn_close(c, c->close_reason);
			return;
		}
		if (c->finish_pending) {
			c->finish_pending = 0;
			httpserver_conn_finish(c);
			return;
		}
		if (n == -1 && strcmp(httpmsg_error(c->msg),
		    HTTPMSG_ERR_NOMEM) == 0) {
			/* Ours, not the peer's: 503, and said once. */
			log_warn("request refused: out of memory parsing its "
			    "head", "peer", c->peer);
			conn_reply_error(c, 503, HTTPMSG_ERR_NOMEM);
			return;
		}
		if (n == -1) {
			conn_reply_error(c, 400, httpmsg_error(c->msg));
			return;
		}
		if (n == 0)
			break;
	}
	c->in_left = evbuffer_get_length(in);
	/* Pipelined bytes wait for the reply; the read limit bounds them. */
	if (c->state == CONN_HANDLING && (evbuffer_get_length(in) >=
	    LIMIT_READ_CHUNK ||
	    evbuffer_get_length(in) > c->srv->cfg.max_header_bytes))
		httpserver_conn_close(c, "too many pipelined bytes");
}

static int
conn_headers_cb(struct httpmsg *m, void *arg)
{
	struct httpconn *c = arg;
	struct httpreq *r;

	evtimer_del(c->head_ev);	/* the head is in, in time */
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("connection closed: out of memory for a request",
		    "peer", c->peer);
		c->close_reason = "out of memory";
		return -1;
	}
	r->conn = c;
	buf_init(&r->body, 0);
	buf_init(&r->reply_headers, LIMIT_REPLY_HEADER_BYTES);
	event_base_gettimeofday_cached(c->srv->base, &r->start);
	c->req = r;
	c->nrequests++;
	c->keep_alive = httpmsg_keep_alive(m);
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
		conn_set_state(c, CONN_HANDLING);
	if (r == NULL)
		return 0;
	r->body_done = 1;
	if (!r->reply_started && r->done_cb != NULL)
		r->done_cb(r, r->body_arg);
	return 0;
}

/*
 * libevent 2.1 reads at most 4 KiB per event (EVBUFFER_MAX_READ), which
 * costs an epoll round, an ioctl and a readv per 4 KiB of a push.  On a
 * plain socket we drain up to LIMIT_READ_CHUNK into the same input buffer
 * ourselves; EOF and errors are left for the bufferevent to report.
 */
/* libevent 2.1's EVBUFFER_MAX_READ: the most one of its reads takes. */
#define CONN_LIBEVENT_READ	4096

static void
conn_read_more(struct httpconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	size_t have = evbuffer_get_length(in), want;
	ssize_t n;

	if (!c->plain)
		return;
	/* The bufferevent freezes its input's end except while it reads. */
	evbuffer_unfreeze(in, 0);
	while (have < LIMIT_READ_CHUNK) {
		want = LIMIT_READ_CHUNK - have;
		if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) < 1)
			break;
		if (v.iov_len > want)
			v.iov_len = want;
		n = recv(bufferevent_getfd(c->bev), v.iov_base, v.iov_len,
		    MSG_DONTWAIT);
		if (n <= 0) {
			evbuffer_commit_space(in, &v, 0);
			break;
		}
		v.iov_len = (size_t)n;
		evbuffer_commit_space(in, &v, 1);
		have += (size_t)n;
		if ((size_t)n < want)
			break;		/* the socket is drained */
	}
	evbuffer_freeze(in, 0);
}

/*
 * Sends what it can at once when nothing is queued (plain sockets), and
 * queues the rest on the bufferevent: a small reply then costs one
 * sendmsg instead of an epoll_ctl, an epoll round and a writev.
 */
int
httpserver_conn_sendv(struct httpconn *c, struct iovec *iov, int niov)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct msghdr mh;
	ssize_t n = 0;
	size_t skip;
	int i;

	if (c->plain && evbuffer_get_length(out) == 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)niov;
		n = sendmsg(bufferevent_getfd(c->bev), &mh,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			n = 0;	/* the bufferevent will meet the error */
	}
	for (i = 0, skip = (size_t)n; i < niov; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (evbuffer_add(out, (char *)iov[i].iov_base + skip,
		    iov[i].iov_len - skip) == -1)
			return -1;
		skip = 0;
	}
	return 0;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct httpconn *c = arg;

	if (c->out_paused)
		return;		/* a read queued before the pause */
	if (c->state == CONN_IDLE)
		conn_set_state(c, CONN_READING);
	/*
	 * libevent read min(pending, 4 KiB): only a full 4 KiB read means
	 * more may wait in the socket; otherwise a recv would just EAGAIN.
	 * (in_left may be stale after a finished request: an extra read.)
	 */
	if (c->state == CONN_READING &&
	    (c->req == NULL || !c->req->body_paused) &&
	    evbuffer_get_length(bufferevent_get_input(bev)) - c->in_left >=
	    CONN_LIBEVENT_READ)
		conn_read_more(c);
	conn_process(c);	/* may free c */
}

/*
 * Back-pressure on pipelining: with more than LIMIT_RELAY_HIGH_WATER of
 * replies unsent, neither parse what is buffered nor read more (reading
 * stays off: libevent 2.1.12 would spin on a full input otherwise) until
 * the write callback sees half of it gone.  Only between requests.
 */
static void
conn_pause_output(struct httpconn *c)
{
	c->out_paused = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, LIMIT_RELAY_HIGH_WATER / 2,
	    0);
	conn_idle_update(c);
	log_debug("pipelined requests held: replies unsent", "peer", c->peer,
	    "queued_bytes", "over LIMIT_RELAY_HIGH_WATER");
}

static void
conn_resume_output(struct httpconn *c)
{
	c->out_paused = 0;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	c->in_left = evbuffer_get_length(bufferevent_get_input(c->bev));
	bufferevent_enable(c->bev, EV_READ);
	if (c->in_left > 0)
		httpserver_conn_schedule(c);
	conn_idle_update(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct httpconn *c = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (left == 0)
		conn_notify_sent(c, 1);

	if (c->out_paused) {
		/* At the low-water mark (set by conn_pause_output): go on. */
		if (left <= LIMIT_RELAY_HIGH_WATER / 2)
			conn_resume_output(c);
		return;
	}
	if (c->state == CONN_IDLE && left == 0)
		conn_idle_update(c);	/* the last reply has gone */
	if (c->state == CONN_CLOSING) {
		if (left == 0)
			httpserver_conn_close(c, "reply sent, connection: close");
		return;
	}
	if (c->req != NULL && c->req->reply_started && c->req->drain_cb != NULL)
		c->req->drain_cb(c->req, c->req->drain_arg);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct httpconn *c = arg;

	if (what & BEV_EVENT_EOF)
		httpserver_conn_close(c, "peer closed the connection");
	else if (what & BEV_EVENT_TIMEOUT)
		httpserver_conn_close(c, (what & BEV_EVENT_WRITING) ?
		    "write timed out" : c->state == CONN_IDLE ?
		    "idle timeout" : "read timed out");
	else if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char ebuf[256];

		if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			/* OpenSSL 3's name for a close without close_notify. */
			httpserver_conn_close(c, "peer closed the connection");
		} else if (e != 0) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);
			long vr = ssl != NULL ? SSL_get_verify_result(ssl) :
			    X509_V_OK;

			ERR_error_string_n(e, ebuf, sizeof(ebuf));
			log_info("TLS error", "peer", c->peer, "error", ebuf,
			    "certificate", vr == X509_V_OK ? "" :
			    X509_verify_cert_error_string(vr));
			httpserver_conn_close(c, "TLS error");
		} else
			httpserver_conn_close(c, evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
	}
}

/* Answers a protocol error and closes once it is written. */
static void
conn_reply_error(struct httpconn *c, int status, const char *text)
{
	struct httpreq *r;

	if (c->req != NULL && c->req->reply_started) {
		httpserver_conn_close(c, text);
		return;
	}
	if (c->req != NULL)
		req_notify_abort(c->req, text);
	else {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			log_warn("connection closed: out of memory for an "
			    "error reply", "peer", c->peer, "error", text);
			httpserver_conn_close(c, "out of memory");
			return;
		}
		r->conn = c;
		buf_init(&r->body, 0);
		buf_init(&r->reply_headers, LIMIT_REPLY_HEADER_BYTES);
		c->req = r;
	}
	log_debug("bad request", "peer", c->peer, "error", text);
	c->keep_alive = 0;
	httpreq_reply_text(c->req, status, text);
}

/* The reply is fully queued: forget the request, serve the next one. */
void
httpserver_conn_finish(struct httpconn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct httpreq *r = c->req;

	if (c->in_feed) {
		/* Never reset the parser under its own callbacks. */
		c->finish_pending = 1;
		return;
	}
	if (r != NULL && r->sent_cb != NULL) {
		/* One watched reply at a time; an older one counts as sent. */
		conn_notify_sent(c, 1);
		c->sent_cb = r->sent_cb;
		c->sent_arg = r->sent_arg;
		r->sent_cb = NULL;
		/* Written straight to the socket: it has left already. */
		if (evbuffer_get_length(out) == 0)
			conn_notify_sent(c, 1);
	}
	if (!c->keep_alive || r == NULL || !r->body_done) {
		/* An unread body or "close" ends the connection. */
		c->req = NULL;
		req_free(r);
		conn_set_state(c, CONN_CLOSING);
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		if (evbuffer_get_length(out) == 0)
			httpserver_conn_close(c, "reply sent, connection: close");
		return;
	}
	c->req = NULL;
	req_free(r);
	httpmsg_reset(c->msg);
	conn_set_state(c, CONN_IDLE);
	if (evbuffer_get_length(out) > LIMIT_RELAY_HIGH_WATER) {
		conn_pause_output(c);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	c->in_left = evbuffer_get_length(bufferevent_get_input(c->bev));
	bufferevent_enable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		httpserver_conn_schedule(c);
	conn_idle_update(c);
}

/*
 * The head's total deadline passed: a head begun is answered 408; a
 * connection that sent nothing (or never finished its TLS handshake) is
 * just closed, as Go's server does.
 */
static void
conn_head_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpconn *c = arg;
	SSL *ssl;
	char lim[32];

	if (c->req != NULL || c->in_feed)
		return;		/* the head is in (a stale expiry) */
	snprintf(lim, sizeof(lim), "%lldms",
	    (long long)c->srv->cfg.read_header_timeout_ms);
	if (c->state == CONN_READING) {
		log_debug("request head not complete in time", "peer", c->peer,
		    "limit", lim, "flag", "--web.read-header-timeout");
		conn_reply_error(c, 408, "request head not complete within "
		    "the header deadline (--web.read-header-timeout)");
		return;
	}
	if (c->state != CONN_IDLE)
		return;
	ssl = bufferevent_openssl_get_ssl(c->bev);
	log_debug("connection closed: no request head in time", "peer",
	    c->peer, "limit", lim);
	httpserver_conn_close(c, ssl != NULL && !SSL_is_init_finished(ssl) ?
	    "TLS handshake not finished within the header deadline" :
	    "no request within the header deadline");
}

static void
httpserver_accept_cb(evutil_socket_t fd, const char *peer, void *arg)
{
	static const char full_body[] =
	    "too many connections (limit set by --web.max-connections)\n";
	struct httpserver *s = arg;
	struct httpconn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("connection refused: out of memory", "peer", peer);
		evutil_closesocket(fd);
		return;
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
	c->process_ev = event_new(s->base, -1, 0, conn_process_cb, c);
	c->head_ev = evtimer_new(s->base, conn_head_timeout_cb, c);
	if (c->bev == NULL || c->msg == NULL || c->process_ev == NULL ||
	    c->head_ev == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		httpmsg_free(c->msg);
		if (c->process_ev != NULL)
			event_free(c->process_ev);
		if (c->head_ev != NULL)
			event_free(c->head_ev);
		free(c);
		log_warn("connection refused: out of memory setting it up",
		    "peer", peer);
		return;
	}
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, LIMIT_READ_CHUNK);
	c->state = CONN_IDLE;
	conn_set_timeouts(c);
	if (s->nconns > s->cfg.max_connections && !TAILQ_EMPTY(&s->idle)) {
		struct httpconn *old = TAILQ_FIRST(&s->idle);

		log_debug("idle connection closed to admit a new one", "peer",
		    old->peer, "new_peer", c->peer,
		    "flag", "--web.max-connections");
		httpserver_conn_close(old, "idle at the connection limit");
	}
	if (s->nconns > s->cfg.max_connections) {
		log_warn("connection refused: limit reached", "peer", c->peer,
		    "flag", "--web.max-connections");
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 503 Service Unavailable\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    sizeof(full_body) - 1, full_body);
		conn_set_state(c, CONN_CLOSING);
		return;
	}
	conn_head_arm(c);	/* accept to first head, TLS handshake included */
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct httpserver *
httpserver_new(struct event_base *base, const struct httpserver_config *cfg,
    httpserver_request_cb cb, void *arg)
{
	struct httpserver *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base = base;
	s->cfg = *cfg;
	s->cb = cb;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->idle);
	return s;
}

void
httpserver_stop_listening(struct httpserver *s)
{
	size_t i;

	for (i = 0; i < s->nlisteners; i++)
		listener_free(s->listeners[i]);
	s->nlisteners = 0;
}

void
httpserver_free(struct httpserver *s)
{
	if (s == NULL)
		return;
	httpserver_stop_listening(s);
	while (!TAILQ_EMPTY(&s->conns))
		httpserver_conn_close(TAILQ_FIRST(&s->conns), "server shutting down");
	SSL_CTX_free(s->tls);
	free(s);
}

int
httpserver_listen(struct httpserver *s, const char *addr)
{
	struct listener *l;
	char limit[16];

	if (s->nlisteners == LIMIT_LISTENERS) {
		snprintf(limit, sizeof(limit), "%d", LIMIT_LISTENERS);
		log_error("too many listen addresses", "address", addr,
		    "limit", limit);
		return -1;
	}
	if ((l = listener_new(s->base, addr, httpserver_accept_cb, s)) == NULL)
		return -1;
	s->listeners[s->nlisteners++] = l;
	return 0;
}

int
httpserver_port(const struct httpserver *s)
{
	return s->nlisteners > 0 ? listener_port(s->listeners[0]) : -1;
}

void
httpserver_set_tls(struct httpserver *s, SSL_CTX *ctx)
{
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	SSL_CTX_free(s->tls);
	s->tls = ctx;
}

void
httpserver_set_reply_cb(struct httpserver *s, httpserver_reply_cb cb)
{
	s->reply_cb = cb;
}

size_t
httpserver_connections(const struct httpserver *s)
{
	return s->nconns;
}

