/*
 * A small HTTP/1.1 server on libevent bufferevents, written for long-polls
 * and relays rather than web pages (see docs/architecture.md for why not
 * evhttp).  What it guarantees:
 *
 * - The handler sees a request as soon as its head is parsed, and chooses
 *   how to take the body: buffered up to a cap (httpreq_read_body), or
 *   streamed chunk by chunk with back-pressure (httpreq_stream_body).
 * - A connection keeps reading while its request is parked, so a peer that
 *   hangs up is noticed at once: the request's abort callback runs and the
 *   request is freed.  Nothing waits on writing to find a dead peer.
 * - Every request is answered exactly once: httpreq_reply, or
 *   httpreq_reply_start ... httpreq_reply_end.  After the reply is queued
 *   the handler must forget the request; the server frees it.
 * - Bounded: a connection cap (at the cap the connection idle longest
 *   between requests is closed for a newcomer; with none idle, the
 *   newcomer gets a 503 and is closed), a header-size cap, a total
 *   deadline for each request head, read/idle/write deadlines, at most
 *   LIMIT_RELAY_HIGH_WATER bytes queued before the drain callback is used,
 *   and no pipelined request parsed while more than that is unsent.
 */
#ifndef PUSHPROX_HTTPSERVER_H
#define PUSHPROX_HTTPSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "httpmsg.h"

struct event_base;
struct ssl_ctx_st;
struct ssl_st;
struct httpserver;
struct httpreq;

struct httpserver_config {
	size_t	 max_connections;
	size_t	 max_header_bytes;
	int64_t	 idle_timeout_ms;	/* keep-alive wait for the next request */
	int64_t	 read_timeout_ms;	/* head or body stalled this long */
	int64_t	 read_header_timeout_ms; /* whole head, from its first byte
					   (a new connection's: from accept,
					   TLS handshake included); 0: none */
	int64_t	 write_timeout_ms;	/* reply stalled this long */
};

/* Called once per request, when its head has been parsed. */
typedef void (*httpserver_request_cb)(struct httpreq *req, void *arg);
/* Body data, streamed. */
typedef void (*httpreq_body_cb)(struct httpreq *req, const char *data,
    size_t len, void *arg);
/* The body is complete (streamed or buffered). */
typedef void (*httpreq_done_cb)(struct httpreq *req, void *arg);
/* The connection failed before the reply was sent; req is freed after. */
typedef void (*httpreq_abort_cb)(struct httpreq *req, const char *why,
    void *arg);
/*
 * A queued reply was written out to the socket (ok 1), or the connection
 * failed before that (ok 0).  Runs exactly once for a reply that was
 * queued, even at server shutdown; if the connection dies before the reply
 * is queued, the abort callback runs instead.
 */
typedef void (*httpreq_sent_cb)(int ok, void *arg);
/* The reply's queued output fell below the low-water mark. */
typedef void (*httpreq_drain_cb)(struct httpreq *req, void *arg);

/* Every reply's status as it starts (for request metrics and logs). */
typedef void (*httpserver_reply_cb)(struct httpreq *req, int status,
    void *arg);

/* Returns a server with no listeners; caller frees with httpserver_free. */
struct httpserver *httpserver_new(struct event_base *base,
    const struct httpserver_config *cfg, httpserver_request_cb cb, void *arg);

/*
 * Closes every connection (abort callbacks run) and listener, then frees.
 * NULL is a no-op.
 */
void httpserver_free(struct httpserver *s);

/*
 * Listens on "host:port", ":port" (all addresses), or "[v6]:port"; port 0
 * picks a free one.  Returns 0, or -1 after logging what failed and why.
 */
int httpserver_listen(struct httpserver *s, const char *addr);

/* The port the first listener is bound to (for ":0"), or -1. */
int httpserver_port(const struct httpserver *s);

/* Stops accepting; open connections go on. */
void httpserver_stop_listening(struct httpserver *s);

/*
 * Serves TLS with ctx on connections accepted from now on (NULL: plain
 * HTTP).  Takes its own reference; established connections keep theirs.
 */
void httpserver_set_tls(struct httpserver *s, struct ssl_ctx_st *ctx);

/* Sets the reply hook (arg is the server's arg). */
void httpserver_set_reply_cb(struct httpserver *s, httpserver_reply_cb cb);

/* Open connections right now. */
size_t httpserver_connections(const struct httpserver *s);

/* The parsed head; borrowed while req lives. */
const struct httpmsg *httpreq_msg(const struct httpreq *req);
const char *httpreq_method(const struct httpreq *req);
const char *httpreq_target(const struct httpreq *req);
const char *httpreq_header(const struct httpreq *req, const char *name);
/* The connection's TLS state, or NULL for plain HTTP; borrowed. */
struct ssl_st *httpreq_ssl(const struct httpreq *req);

/* Seconds since the request's head arrived. */
double httpreq_elapsed(const struct httpreq *req);
/* "127.0.0.1:50312" or "[::1]:50312"; borrowed. */
const char *httpreq_peer(const struct httpreq *req);

/*
 * Reads the whole body into a buffer of at most max bytes, then calls
 * done.  A larger body is answered with 413 by the server (the handler's
 * abort callback runs with "body too large").
 */
void httpreq_read_body(struct httpreq *req, size_t max, httpreq_done_cb done,
    void *arg);
/* The buffered body; borrowed while req lives. */
const struct buf *httpreq_body(const struct httpreq *req);

/* Streams the body through body_cb, then calls done. */
void httpreq_stream_body(struct httpreq *req, httpreq_body_cb body,
    httpreq_done_cb done, void *arg);
/* Back-pressure on a streamed body: stop and restart reading it. */
void httpreq_pause_body(struct httpreq *req);
void httpreq_resume_body(struct httpreq *req);

/* The request's abort callback (replaces any earlier one). */
void httpreq_set_abort_cb(struct httpreq *req, httpreq_abort_cb cb, void *arg);

/* Asks to be told whether the reply gets written out (see the cb type). */
void httpreq_set_sent_cb(struct httpreq *req, httpreq_sent_cb cb, void *arg);

/* Adds a header to the reply (before the reply starts); -1 if invalid. */
int httpreq_add_header(struct httpreq *req, const char *name,
    const char *value);

/* Forgets the headers added so far: an error answers instead of a relay. */
void httpreq_clear_headers(struct httpreq *req);

/*
 * Makes room to relay the headers of a head parsed under head_max bytes,
 * so that they fit by construction (no header is ever dropped for room).
 */
void httpreq_reserve_headers(struct httpreq *req, size_t head_max);

/*
 * Whether a reply with status to req carries no body (RFC 9110 6.4.1,
 * 9.3.2: 1xx, 204, 304, or any reply to HEAD): its body bytes are dropped.
 */
bool httpreq_bodyless(const struct httpreq *req, int status);

/*
 * Answers with a whole body.  content_type may be NULL.  The request
 * belongs to the server afterwards.
 */
void httpreq_reply(struct httpreq *req, int status, const char *content_type,
    const void *body, size_t len);

/* Answers with a text/plain message; for errors. */
void httpreq_reply_text(struct httpreq *req, int status, const char *text);

/*
 * Starts a streamed reply.  content_length -1 means chunked (or close-
 * delimited for HTTP/1.0 peers).  reason NULL (or one longer than
 * LIMIT_MAX_REASON_BYTES or with bytes other than VCHAR, SP, HTAB) means
 * the standard phrase.  A bodyless reply gets no framing headers (a HEAD
 * reply keeps content_length as metadata).  Returns 0, or -1 if the head
 * could not be written as asked (status outside 100-599, out of memory):
 * a 502 naming why went out instead; end the reply as usual.
 */
int httpreq_reply_start(struct httpreq *req, int status, const char *reason,
    int64_t content_length);
/* Queues body bytes; returns 0, or -1 if the connection is gone. */
int httpreq_reply_write(struct httpreq *req, const void *data, size_t len);
/* Bytes queued and not yet sent. */
size_t httpreq_reply_queued(const struct httpreq *req);
/* Calls cb whenever the queue falls to the low-water mark. */
void httpreq_set_drain_cb(struct httpreq *req, httpreq_drain_cb cb, void *arg);
/* Ends the reply; the request belongs to the server afterwards. */
void httpreq_reply_end(struct httpreq *req);

/*
 * Gives up on the request from our side: closes its connection (a streamed
 * reply is cut short, so the peer sees the failure), logs why, frees req.
 * The abort callback does not run.
 */
void httpreq_abort(struct httpreq *req, const char *why);

#endif
