/*
 * HTTP/1.x messages: a streaming parser over Debian's http_parser, made
 * strict by framing.c, and (httpmsg_write.h) writers for the two
 * serialized forms the PushProx protocol carries in bodies (a proxy-form
 * request in a poll answer, a response in a push).
 *
 * The parser is push-driven: feed it bytes as they arrive; the head
 * (request line or status line, and headers, at most max_header_bytes) is
 * collected, then headers_cb runs, body bytes are passed through body_cb
 * without being stored (chunked encoding already removed), and
 * complete_cb ends the message.  After complete_cb the parser pauses and
 * consumes nothing more until httpmsg_reset, so pipelined bytes stay with
 * the caller.
 */
#ifndef PUSHPROX_HTTPMSG_H
#define PUSHPROX_HTTPMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum httpmsg_kind {
	HTTPMSG_REQUEST,
	HTTPMSG_RESPONSE,
};

struct httpmsg_header {
	const char	*name;
	const char	*value;
};

struct httpmsg;

/* Each returns 0 to go on, or -1 to fail the parse (feed returns -1). */
struct httpmsg_cbs {
	int (*headers_cb)(struct httpmsg *m, void *arg);
	int (*body_cb)(struct httpmsg *m, const char *data, size_t len,
	    void *arg);
	int (*complete_cb)(struct httpmsg *m, void *arg);
};

/* Returns a new parser; caller frees with httpmsg_free. NULL on ENOMEM. */
struct httpmsg *httpmsg_new(enum httpmsg_kind kind, size_t max_header_bytes,
    const struct httpmsg_cbs *cbs, void *arg);

/* Frees the parser. NULL is a no-op. */
void httpmsg_free(struct httpmsg *m);

/*
 * Feeds bytes.  Returns how many were consumed (fewer than len once the
 * message is complete), or -1 on a parse error or a callback's -1; then
 * httpmsg_error says why.
 */
ssize_t httpmsg_feed(struct httpmsg *m, const char *data, size_t len);

/*
 * Signals the end of input.  Completes a body delimited by end of input;
 * returns 0, or -1 if the message was not complete ("truncated").
 */
int httpmsg_feed_eof(struct httpmsg *m);

/*
 * From a body callback: stop after this callback.  httpmsg_feed returns
 * what it consumed so far; the next feed goes on from there.
 */
void httpmsg_pause(struct httpmsg *m);

/* Forgets the current message; ready for the next one. */
void httpmsg_reset(struct httpmsg *m);

/*
 * Why the last feed failed; borrowed, static or owned by m.  Our own
 * failure, not the peer's, is exactly HTTPMSG_ERR_NOMEM.
 */
const char *httpmsg_error(const struct httpmsg *m);
#define HTTPMSG_ERR_NOMEM	"out of memory"

/* True once complete_cb has run for the current message. */
bool httpmsg_complete(const struct httpmsg *m);
/* True once headers_cb has run for the current message. */
bool httpmsg_head_done(const struct httpmsg *m);

/* Accessors for the parsed head; strings are borrowed until reset/free. */
const char *httpmsg_method(const struct httpmsg *m);	/* "GET" */
const char *httpmsg_target(const struct httpmsg *m);	/* raw request URL */
int httpmsg_status(const struct httpmsg *m);
const char *httpmsg_reason(const struct httpmsg *m);
int httpmsg_version(const struct httpmsg *m);		/* 11 for HTTP/1.1 */
bool httpmsg_keep_alive(const struct httpmsg *m);
bool httpmsg_chunked(const struct httpmsg *m);
/* Content-Length, or -1 when absent. */
int64_t httpmsg_content_length(const struct httpmsg *m);
size_t httpmsg_header_count(const struct httpmsg *m);
const struct httpmsg_header *httpmsg_header_at(const struct httpmsg *m,
    size_t i);
/* The first header of that name (case-insensitive), or NULL. */
const char *httpmsg_header(const struct httpmsg *m, const char *name);

/* The writers, httpmsg_write.c. */
#include "httpmsg_write.h"

#endif
