/*
 * One request and its reply, as a handler of the HTTP server (httpserver.h)
 * sees them: the parsed head, the body (buffered up to a cap, or streamed
 * with pause and resume), and exactly one answer (whole, or streamed with
 * Content-Length or chunked).  After the reply is queued the handler must
 * forget the request; the server frees it.
 */
#ifndef PUSHPROX_HTTPREQ_H
#define PUSHPROX_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "httpmsg.h"

struct ssl_st;
struct httpreq;

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
 * could not be written as asked (status outside 100-599):
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
