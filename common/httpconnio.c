/*
 * A connection's socket I/O.  Two paths behind one interface:
 *
 * - Plain sockets: our own read loop on a raw event.  libevent 2.1's
 *   socket bufferevent reads at most 4 KiB per event with an
 *   ioctl(FIONREAD) before each; here one recv of up to LIMIT_READ_CHUNK
 *   per readiness, fed to the parser straight from a static buffer (what
 *   the parser does not take yet goes to the bufferevent's input buffer,
 *   bounded as before).  Replies are written at once with one sendmsg
 *   when nothing is queued; what does not fit is queued on the
 *   bufferevent, which then owns writing (EV_WRITE, write timeout,
 *   watermarks).  A streamed reply's head is held (one small allocation)
 *   until its first body bytes, so head and body leave in one sendmsg;
 *   a head with no body bytes in the same loop turn goes out at its end.
 *   The bufferevent never reads.  Accepted sockets have TCP_NODELAY
 *   (listener.c): every reply is written whole, so Nagle would only
 *   delay the last segment.
 * - TLS: bufferevent_openssl does both directions.
 *
 * And back-pressure on pipelining: after a reply leaves more than
 * LIMIT_RELAY_HIGH_WATER unsent, the connection neither parses nor reads
 * until the write callback sees half of it gone (out_paused).
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include "duration.h"
#include "httpserver_int.h"
#include "log.h"
#include "pushprox_limits.h"

/* read_armed_ms of a read event that is not pending. */
#define CONNIO_NOT_ARMED	INT64_MIN

/* One read at a time in this process: the loop is single-threaded. */
static char connio_rbuf[LIMIT_READ_CHUNK];

void
httpserver_conn_reading(struct httpconn *c, int on)
{
	if (!c->plain) {
		if (on)
			bufferevent_enable(c->bev, EV_READ);
		else
			bufferevent_disable(c->bev, EV_READ);
		c->reading = on != 0;
		return;
	}
	if (on == c->reading)
		return;
	c->reading = on != 0;
	c->read_armed_ms = CONNIO_NOT_ARMED;
	if (on)
		httpserver_conn_set_timeouts(c);	/* adds read_ev */
	else
		event_del(c->read_ev);
}

/* Plain sockets: readiness or the read deadline. */
static void
connio_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpconn *c = arg;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		httpserver_conn_read_timeout(c);
		return;
	}
	n = recv(fd, connio_rbuf, sizeof(connio_rbuf), MSG_DONTWAIT);
	if (n == 0) {
		httpserver_conn_close(c, "peer closed the connection");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		httpserver_conn_close(c, evutil_socket_error_to_string(errno));
		return;
	}
	httpserver_conn_take(c, connio_rbuf, (size_t)n);	/* may free c */
}

/* TLS: the bufferevent has read (and decrypted) more. */
static void
connio_tls_read_cb(struct bufferevent *bev, void *arg)
{
	struct httpconn *c = arg;

	if (c->out_paused)
		return;		/* a read queued before the pause */
	if (c->state == CONN_IDLE)
		httpserver_conn_set_state(c, CONN_READING);
	httpserver_conn_process(c);	/* may free c */
}

size_t
httpserver_conn_queued(const struct httpconn *c)
{
	return c->held_len + evbuffer_get_length(bufferevent_get_output(
	    c->bev));
}

int
httpserver_conn_sendv(struct httpconn *c, struct iovec *iov, int niov)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct iovec all[8];
	struct msghdr mh;
	ssize_t n = 0;
	size_t skip;
	int i, nall = 0, rc = 0;

	if (c->held != NULL) {
		all[nall].iov_base = c->held;
		all[nall++].iov_len = c->held_len;
	}
	for (i = 0; i < niov && nall < (int)(sizeof(all) / sizeof(all[0]));
	    i++)
		if (iov[i].iov_len > 0)
			all[nall++] = iov[i];
	if (i < niov)
		fatal("httpserver_conn_sendv: more than 7 pieces");
	if (c->plain && evbuffer_get_length(out) == 0 && nall > 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = all;
		mh.msg_iovlen = (size_t)nall;
		n = sendmsg(bufferevent_getfd(c->bev), &mh,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			n = 0;	/* the bufferevent will meet the error */
	}
	for (i = 0, skip = (size_t)n; i < nall; i++) {
		if (skip >= all[i].iov_len) {
			skip -= all[i].iov_len;
			continue;
		}
		if (rc == 0 && evbuffer_add(out, (char *)all[i].iov_base +
		    skip, all[i].iov_len - skip) == -1)
			rc = -1;
		skip = 0;
	}
	free(c->held);
	c->held = NULL;
	c->held_len = 0;
	return rc;
}

int
httpserver_conn_hold(struct httpconn *c, struct iovec *iov, int niov)
{
	size_t len = 0;
	int i;

	if (!c->plain || c->held != NULL ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return httpserver_conn_sendv(c, iov, niov);
	for (i = 0; i < niov; i++)
		len += iov[i].iov_len;
	if ((c->held = malloc(len)) == NULL)
		return httpserver_conn_sendv(c, iov, niov);
	for (i = 0; i < niov; i++) {
		memcpy(c->held + c->held_len, iov[i].iov_base,
		    iov[i].iov_len);
		c->held_len += iov[i].iov_len;
	}
	httpserver_conn_schedule(c);	/* the end of this loop turn */
	return 0;
}

void
httpserver_conn_flush(struct httpconn *c)
{
	if (c->held != NULL && httpserver_conn_sendv(c, NULL, 0) == -1)
		log_warn("cannot queue reply", "peer", c->peer,
		    "error", "out of memory");
}

void
httpserver_conn_io_free(struct httpconn *c)
{
	free(c->held);
	c->held = NULL;
	c->held_len = 0;
	if (c->read_ev != NULL)
		event_free(c->read_ev);
	c->read_ev = NULL;
}

static void
connio_resume_output(struct httpconn *c)
{
	c->out_paused = 0;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	httpserver_conn_reading(c, 1);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		httpserver_conn_schedule(c);
	httpserver_conn_idle_update(c);
}

int
httpserver_conn_pause_output(struct httpconn *c)
{
	if (httpserver_conn_queued(c) <= LIMIT_RELAY_HIGH_WATER)
		return 0;
	c->out_paused = 1;
	/* Off: libevent 2.1.12 would spin on a full TLS input otherwise. */
	httpserver_conn_reading(c, 0);
	bufferevent_setwatermark(c->bev, EV_WRITE, LIMIT_RELAY_HIGH_WATER / 2,
	    0);
	httpserver_conn_idle_update(c);
	log_debug("pipelined requests held: replies unsent", "peer", c->peer,
	    "queued_bytes", "over LIMIT_RELAY_HIGH_WATER");
	return 1;
}

static void
connio_write_cb(struct bufferevent *bev, void *arg)
{
	struct httpconn *c = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (left == 0)
		httpserver_conn_notify_sent(c, 1);

	if (c->out_paused) {
		/* At the low-water mark (set by pause_output): go on. */
		if (left <= LIMIT_RELAY_HIGH_WATER / 2)
			connio_resume_output(c);
		return;
	}
	if (c->state == CONN_IDLE && left == 0)
		httpserver_conn_idle_update(c);	/* the last reply has gone */
	if (c->state == CONN_CLOSING) {
		if (left == 0)
			httpserver_conn_close(c,
			    "reply sent, connection: close");
		return;
	}
	if (c->req != NULL && c->req->reply_started && c->req->drain_cb != NULL)
		c->req->drain_cb(c->req, c->req->drain_arg);
}

static void
connio_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct httpconn *c = arg;

	if (what & BEV_EVENT_EOF)
		httpserver_conn_close(c, "peer closed the connection");
	else if (what & BEV_EVENT_TIMEOUT) {
		if (what & BEV_EVENT_WRITING)
			httpserver_conn_close(c, "write timed out");
		else
			httpserver_conn_read_timeout(c);
	} else if (what & BEV_EVENT_ERROR) {
		unsigned long e = c->plain ? 0 :
		    bufferevent_get_openssl_error(bev);
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

void
httpserver_conn_io_start(struct httpconn *c)
{
	struct timeval wtv;

	if (!c->plain) {
		bufferevent_setcb(c->bev, connio_tls_read_cb, connio_write_cb,
		    connio_event_cb, c);
		bufferevent_setwatermark(c->bev, EV_READ, 0, LIMIT_READ_CHUNK);
		httpserver_conn_set_timeouts(c);
		c->reading = 1;
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	bufferevent_setcb(c->bev, NULL, connio_write_cb, connio_event_cb, c);
	duration_to_timeval(c->srv->cfg.write_timeout_ms, &wtv);
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_enable(c->bev, EV_WRITE);
	httpserver_conn_reading(c, 1);
}

int
httpserver_conn_io_new(struct httpconn *c)
{
	c->read_armed_ms = CONNIO_NOT_ARMED;
	if (!c->plain)
		return 0;
	/* The socket bufferevent freezes its input's end; we read here. */
	evbuffer_unfreeze(bufferevent_get_input(c->bev), 0);
	c->read_ev = event_new(c->srv->base, bufferevent_getfd(c->bev),
	    EV_READ | EV_PERSIST, connio_read_cb, c);
	return c->read_ev == NULL ? -1 : 0;
}

void
httpserver_conn_io_refuse(struct httpconn *c, const char *text, size_t len)
{
	bufferevent_setcb(c->bev, NULL, connio_write_cb, connio_event_cb, c);
	(void)bufferevent_write(c->bev, text, len);
	bufferevent_enable(c->bev, EV_WRITE);
}
