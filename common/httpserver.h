/*
 * A small HTTP/1.1 server on libevent bufferevents, written for long-polls
 * and relays rather than web pages (see docs/architecture.md for why not
 * evhttp).  What a handler does with a request is in httpreq.h.  What it
 * guarantees:
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

struct event_base;
struct ssl_ctx_st;
struct httpserver;
struct httpreq;		/* one request and its reply: httpreq.h */

struct httpserver_config {
	size_t	 max_connections;
	size_t	 max_header_bytes;
	int64_t	 idle_timeout_ms; /* keep-alive wait for the next request */
	int64_t	 read_timeout_ms;	/* head or body stalled this long */
	int64_t	 read_header_timeout_ms; /* whole head, from its first byte
					   (a new connection's: from accept,
					   TLS handshake included); 0: none */
	int64_t	 write_timeout_ms;	/* reply stalled this long */
};

/* Called once per request, when its head has been parsed. */
typedef void (*httpserver_request_cb)(struct httpreq *req, void *arg);
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

#endif
