/*
 * What a handler does with a request: read its head, take its body
 * (buffered up to a cap, or streamed with pause and resume), and answer it
 * exactly once (whole, or streamed with Content-Length or chunked), with
 * the framing RFC 9110 allows for its status and method.  A head is
 * written without printf or allocation into fixed arrays sized by
 * construction around the handler's headers; one that cannot be written
 * (a status outside 100-599) becomes a 502 naming why, never an abort.
 * Reply bytes go out through httpserver_conn_sendv, which writes at once
 * when nothing is queued (a streamed reply's head is held to go out with
 * its first body bytes); the connection's lifecycle is in httpconn.c, its
 * I/O in httpconnio.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "httpserver_int.h"
#include "log.h"
#include "pushprox_limits.h"

/* The reply is queued: the handler has forgotten r; call it no more. */
static void
req_forget_handler(struct httpreq *r)
{
	r->abort_cb = NULL;
	r->drain_cb = NULL;
	r->done_cb = NULL;
	r->body_cb = NULL;
	r->body_mode = BODY_DISCARD;
}

SSL *
httpreq_ssl(const struct httpreq *r)
{
	/* NULL for a plain socket bufferevent. */
	return bufferevent_openssl_get_ssl(r->conn->bev);
}

double
httpreq_elapsed(const struct httpreq *r)
{
	struct timeval now;

	event_base_gettimeofday_cached(r->conn->srv->base, &now);
	return (double)(now.tv_sec - r->start.tv_sec) +
	    (double)(now.tv_usec - r->start.tv_usec) / 1e6;
}

const struct httpmsg *
httpreq_msg(const struct httpreq *r)
{
	return r->conn->msg;
}

const char *
httpreq_method(const struct httpreq *r)
{
	return httpmsg_method(r->conn->msg);
}

const char *
httpreq_target(const struct httpreq *r)
{
	return httpmsg_target(r->conn->msg);
}

const char *
httpreq_header(const struct httpreq *r, const char *name)
{
	return httpmsg_header(r->conn->msg, name);
}

const char *
httpreq_peer(const struct httpreq *r)
{
	return r->conn->peer;
}

static void
httpreq_continue(struct httpreq *r)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *expect = httpreq_header(r, "Expect");

	struct iovec iov;

	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    !r->body_done) {
		iov.iov_base = (void *)(uintptr_t)cont;
		iov.iov_len = sizeof(cont) - 1;
		(void)httpserver_conn_sendv(r->conn, &iov, 1);
	}
}

void
httpreq_read_body(struct httpreq *r, size_t max, httpreq_done_cb done,
    void *arg)
{
	r->body_mode = BODY_BUFFER;
	r->body.max = max;
	r->done_cb = done;
	r->body_arg = arg;
	httpreq_continue(r);
}

const struct buf *
httpreq_body(const struct httpreq *r)
{
	return &r->body;
}

void
httpreq_stream_body(struct httpreq *r, httpreq_body_cb body,
    httpreq_done_cb done, void *arg)
{
	r->body_mode = BODY_STREAM;
	r->body_cb = body;
	r->done_cb = done;
	r->body_arg = arg;
	httpreq_continue(r);
}

void
httpreq_pause_body(struct httpreq *r)
{
	r->body_paused = 1;
	/* Inside a body callback: stop the parser right after it. */
	if (r->conn->in_feed)
		httpmsg_pause(r->conn->msg);
}

void
httpreq_resume_body(struct httpreq *r)
{
	if (!r->body_paused)
		return;
	r->body_paused = 0;
	httpserver_conn_reading(r->conn, 1);
	httpserver_conn_schedule(r->conn);
}

void
httpreq_set_abort_cb(struct httpreq *r, httpreq_abort_cb cb, void *arg)
{
	r->abort_cb = cb;
	r->abort_arg = arg;
}

void
httpreq_set_sent_cb(struct httpreq *r, httpreq_sent_cb cb, void *arg)
{
	r->sent_cb = cb;
	r->sent_arg = arg;
}

void
httpreq_set_drain_cb(struct httpreq *r, httpreq_drain_cb cb, void *arg)
{
	r->drain_cb = cb;
	r->drain_arg = arg;
}

int
httpreq_add_header(struct httpreq *r, const char *name, const char *value)
{
	size_t len = r->reply_headers.len;

	if (r->reply_started || !httpmsg_header_valid(name, value))
		return -1;
	if (buf_puts(&r->reply_headers, name) == -1 ||
	    buf_append(&r->reply_headers, ": ", 2) == -1 ||
	    buf_puts(&r->reply_headers, value) == -1 ||
	    buf_append(&r->reply_headers, "\r\n", 2) == -1) {
		r->reply_headers.len = len;	/* all of the line or none */
		return -1;
	}
	return 0;
}

void
httpreq_clear_headers(struct httpreq *r)
{
	if (!r->reply_started)
		buf_reset(&r->reply_headers);
}

void
httpreq_reserve_headers(struct httpreq *r, size_t head_max)
{
	/*
	 * A parsed header line "N:v" is relayed as "N: v": at most one byte
	 * more per header, and the parser holds at most LIMIT_MAX_HEADERS.
	 * Our own headers keep their LIMIT_REPLY_HEADER_BYTES.
	 */
	size_t max = LIMIT_REPLY_HEADER_BYTES + head_max + LIMIT_MAX_HEADERS;

	if (max > r->reply_headers.max)
		r->reply_headers.max = max;
}

bool
httpreq_bodyless(const struct httpreq *r, int status)
{
	return (status >= 100 && status < 200) || status == 204 ||
	    status == 304 || strcmp(httpreq_method(r), "HEAD") == 0;
}

/*
 * A reply head goes out as up to three pieces around the handler's
 * headers (r->reply_headers): the status line, and the framing header,
 * "Connection: close" and the blank line.  Both are written into fixed
 * arrays sized here by construction (the reason is capped), without
 * printf or allocation, and sent with the body in one sendmsg.
 */
#define HTTPREQ_LINE_MAX	(sizeof("HTTP/1.1 599 \r\n") + \
	LIMIT_MAX_REASON_BYTES)
#define HTTPREQ_TAIL_MAX	\
	(sizeof("Content-Length: 9223372036854775807\r\n") + \
	sizeof("Connection: close\r\n") + sizeof("\r\n"))

struct httpreq_head {
	char	 line[HTTPREQ_LINE_MAX];
	char	 tail[HTTPREQ_TAIL_MAX];
	size_t	 line_len;
	size_t	 tail_len;
};

/* A reason phrase we send: short, VCHAR, SP and HTAB only (RFC 9112 4). */
static bool
httpreq_reason_valid(const char *reason)
{
	size_t n;
	unsigned char ch;

	for (n = 0; reason[n] != '\0'; n++) {
		ch = (unsigned char)reason[n];
		if (n == LIMIT_MAX_REASON_BYTES ||
		    (ch != ' ' && ch != '\t' && (ch < 0x21 || ch > 0x7e)))
			return false;
	}
	return true;
}

/* Appends n bytes at *len of out; the arrays are sized by construction. */
static void
httpreq_put(char *out, size_t *len, const char *p, size_t n)
{
	memcpy(out + *len, p, n);
	*len += n;
}

/* Appends v >= 0 in decimal. */
static void
httpreq_put_dec(char *out, size_t *len, uint64_t v)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	httpreq_put(out, len, d + i, sizeof(d) - i);
}

#define HTTPREQ_PUT(out, len, lit)	httpreq_put(out, len, lit, \
	sizeof(lit) - 1)

/*
 * Writes the status line and the tail of a reply head (status in
 * 100-599), with the framing RFC 9110 asks for: none on 1xx, 204 and 304,
 * metadata only for HEAD.
 */
static void
httpreq_write_head(struct httpreq *r, int status, const char *reason,
    int64_t length, struct httpreq_head *h)
{
	struct httpconn *c = r->conn;
	int head_req = strcmp(httpreq_method(r), "HEAD") == 0;

	if (reason == NULL || !httpreq_reason_valid(reason))
		reason = httpmsg_reason_phrase(status);
	r->reply_nobody = httpreq_bodyless(r, status);
	/* A reply before the body was read ends the connection after it. */
	if (!r->body_done && (httpmsg_chunked(c->msg) ||
	    httpmsg_content_length(c->msg) > 0))
		c->keep_alive = 0;
	h->line_len = h->tail_len = 0;
	HTTPREQ_PUT(h->line, &h->line_len, "HTTP/1.1 ");
	httpreq_put_dec(h->line, &h->line_len, (uint64_t)status);
	HTTPREQ_PUT(h->line, &h->line_len, " ");
	httpreq_put(h->line, &h->line_len, reason, strlen(reason));
	HTTPREQ_PUT(h->line, &h->line_len, "\r\n");
	if ((status >= 100 && status < 200) || status == 204 ||
	    status == 304)
		;	/* no body, no framing */
	else if (length >= 0) {
		HTTPREQ_PUT(h->tail, &h->tail_len, "Content-Length: ");
		httpreq_put_dec(h->tail, &h->tail_len, (uint64_t)length);
		HTTPREQ_PUT(h->tail, &h->tail_len, "\r\n");
	} else if (head_req)
		;	/* no body: the length is unknown, and need not be */
	else if (httpmsg_version(c->msg) >= 11) {
		r->reply_chunked = 1;
		HTTPREQ_PUT(h->tail, &h->tail_len,
		    "Transfer-Encoding: chunked\r\n");
	} else
		c->keep_alive = 0;
	if (!c->keep_alive)
		HTTPREQ_PUT(h->tail, &h->tail_len, "Connection: close\r\n");
	HTTPREQ_PUT(h->tail, &h->tail_len, "\r\n");
}

/*
 * The head that goes out when the one asked for cannot: a 502 naming why,
 * written into out without allocating.  Returns its length.
 */
static size_t
httpreq_write_fallback(struct httpreq *r, int status, const char *why,
    char *out, size_t size)
{
	char text[192];
	int tn, n;

	tn = snprintf(text, sizeof(text), "pushprox: cannot send a %d reply: "
	    "%s\n", status, why);
	if (tn < 0 || (size_t)tn >= sizeof(text))
		tn = (int)strlen(text);
	n = snprintf(out, size, "HTTP/1.1 502 Bad Gateway\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n%s", tn,
	    strcmp(httpreq_method(r), "HEAD") == 0 ? "" : text);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

static int
httpreq_send_head(struct httpreq *r, int status, const char *reason,
    int64_t length, const void *body, size_t len)
{
	struct httpconn *c = r->conn;
	struct httpreq_head h;
	struct iovec iov[4];
	char fallback[512], code[16];
	const char *why = NULL;
	int niov = 0;

	r->reply_started = 1;
	if (status < 100 || status > 599) {
		why = "status outside 100-599";
		snprintf(code, sizeof(code), "%d", status);
		log_warn("cannot write reply head; answering 502", "peer",
		    c->peer, "status", code, "reason", why);
		r->reply_nobody = 1;	/* what the handler writes is dropped */
		r->reply_chunked = 0;
		c->keep_alive = 0;
		iov[niov].iov_base = fallback;
		iov[niov++].iov_len = httpreq_write_fallback(r, status, why,
		    fallback, sizeof(fallback));
		status = 502;
	} else {
		httpreq_write_head(r, status, reason, length, &h);
		iov[niov].iov_base = h.line;
		iov[niov++].iov_len = h.line_len;
		if (r->reply_headers.len > 0) {
			iov[niov].iov_base = r->reply_headers.data;
			iov[niov++].iov_len = r->reply_headers.len;
		}
		iov[niov].iov_base = h.tail;
		iov[niov++].iov_len = h.tail_len;
		if (len > 0 && !r->reply_nobody) {
			iov[niov].iov_base = (void *)(uintptr_t)body;
			iov[niov++].iov_len = len;
		}
	}
	if (c->srv->reply_cb != NULL && r->start.tv_sec != 0)
		c->srv->reply_cb(r, status, c->srv->arg);
	/* A streamed reply's head waits for its first body bytes. */
	if ((body == NULL && why == NULL && !r->reply_nobody ?
	    httpserver_conn_hold(c, iov, niov) :
	    httpserver_conn_sendv(c, iov, niov)) == -1)
		log_warn("cannot queue reply", "peer", c->peer,
		    "error", "out of memory");
	return why == NULL ? 0 : -1;
}

void
httpreq_reply(struct httpreq *r, int status, const char *content_type,
    const void *body, size_t len)
{
	if (content_type != NULL &&
	    httpreq_add_header(r, "Content-Type", content_type) == -1)
		log_warn("reply header dropped", "peer", r->conn->peer,
		    "header", "Content-Type");
	(void)httpreq_send_head(r, status, NULL, (int64_t)len, body, len);
	req_forget_handler(r);
	httpserver_conn_finish(r->conn);
}

void
httpreq_reply_text(struct httpreq *r, int status, const char *text)
{
	struct buf b;

	buf_init(&b, strlen(text) + 2);
	if (buf_puts(&b, text) == -1 || buf_puts(&b, "\n") == -1)
		b.len = 0;
	httpreq_reply(r, status, "text/plain; charset=utf-8", buf_cstr(&b),
	    b.len);
	buf_release(&b);
}

int
httpreq_reply_start(struct httpreq *r, int status, const char *reason,
    int64_t content_length)
{
	int rc;

	rc = httpreq_send_head(r, status, reason, content_length, NULL, 0);
	bufferevent_setwatermark(r->conn->bev, EV_WRITE,
	    LIMIT_RELAY_HIGH_WATER / 2, 0);
	return rc;
}

int
httpreq_reply_write(struct httpreq *r, const void *data, size_t len)
{
	char size[24];
	struct iovec iov[3];
	int n = 0, k;

	/* A bodyless reply (RFC 9110 6.4.1): the bytes are dropped. */
	if (len == 0 || r->reply_nobody)
		return 0;
	if (r->reply_chunked) {
		k = snprintf(size, sizeof(size), "%zx\r\n", len);
		iov[n].iov_base = size;
		iov[n++].iov_len = (size_t)k;
	}
	iov[n].iov_base = (void *)(uintptr_t)data;
	iov[n++].iov_len = len;
	if (r->reply_chunked) {
		iov[n].iov_base = (void *)(uintptr_t)"\r\n";
		iov[n++].iov_len = 2;
	}
	return httpserver_conn_sendv(r->conn, iov, n);
}

size_t
httpreq_reply_queued(const struct httpreq *r)
{
	return httpserver_conn_queued(r->conn);
}

void
httpreq_reply_end(struct httpreq *r)
{
	struct iovec iov;

	if (r->reply_chunked) {
		iov.iov_base = (void *)(uintptr_t)"0\r\n\r\n";
		iov.iov_len = 5;
		(void)httpserver_conn_sendv(r->conn, &iov, 1);
	}
	req_forget_handler(r);
	httpserver_conn_finish(r->conn);
}

void
httpreq_abort(struct httpreq *r, const char *why)
{
	struct httpconn *c = r->conn;

	r->abort_cb = NULL;
	log_debug("request aborted", "peer", c->peer, "reason", why);
	httpserver_conn_close(c, why);
}
