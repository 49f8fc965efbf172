/*
 * Unit tests for the streaming HTTP/1.x parser and head writers
 * (common/httpmsg.c).  Every message is parsed whole, split in two at every
 * offset, and byte by byte; all must agree.  The wire samples in
 * tests/data (TEST_DATA_DIR) are the shapes Go's net/http writes.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hop.h"
#include "httpmsg.h"
#include "pushprox_limits.h"

#define MAXHEAD		(16 * 1024)
#define SAMPLE_ID	"3f1c2a9e-5b7d-4c1e-9a2b-0123456789ab"
#define SAMPLE_TARGET	"node1.example:9100"

/* Everything observable about one parse. */
struct pres {
	int		 result;	/* 1 complete, 0 incomplete, -1 error */
	char		 err[128];
	size_t		 consumed;
	int		 heads;		/* headers_cb runs */
	int		 completes;	/* complete_cb runs */
	int		 body_calls;
	char		 method[32];
	char		 target[1024];
	int		 status;
	char		 reason[256];
	int		 version;
	int		 keep_alive;
	int		 chunked;
	int64_t		 clen;
	struct buf	 hdrs;		/* "name: value\n" each, in order */
	struct buf	 body;
};

static void
pres_init(struct pres *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->hdrs, 1 << 20);
	buf_init(&r->body, 4 << 20);
}

static void
pres_free(struct pres *r)
{
	buf_release(&r->hdrs);
	buf_release(&r->body);
}

static int
pres_headers_cb(struct httpmsg *m, void *arg)
{
	struct pres *r = arg;
	const struct httpmsg_header *h;
	size_t i;

	r->heads++;
	ck_assert(httpmsg_head_done(m));
	ck_assert(!httpmsg_complete(m));
	snprintf(r->method, sizeof(r->method), "%s", httpmsg_method(m));
	snprintf(r->target, sizeof(r->target), "%s", httpmsg_target(m));
	snprintf(r->reason, sizeof(r->reason), "%s", httpmsg_reason(m));
	r->status = httpmsg_status(m);
	r->version = httpmsg_version(m);
	r->keep_alive = httpmsg_keep_alive(m);
	r->chunked = httpmsg_chunked(m);
	r->clen = httpmsg_content_length(m);
	for (i = 0; i < httpmsg_header_count(m); i++) {
		h = httpmsg_header_at(m, i);
		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(buf_printf(&r->hdrs, "%s: %s\n", h->name,
		    h->value), 0);
	}
	ck_assert_ptr_null(httpmsg_header_at(m, i));
	return 0;
}

static int
pres_body_cb(struct httpmsg *m, const char *data, size_t len, void *arg)
{
	struct pres *r = arg;

	ck_assert(httpmsg_head_done(m));
	ck_assert_uint_gt(len, 0);
	r->body_calls++;
	ck_assert_int_eq(buf_append(&r->body, data, len), 0);
	return 0;
}

static int
pres_complete_cb(struct httpmsg *m, void *arg)
{
	struct pres *r = arg;

	r->completes++;
	return 0;
}

static const struct httpmsg_cbs pres_cbs = {
	.headers_cb = pres_headers_cb,
	.body_cb = pres_body_cb,
	.complete_cb = pres_complete_cb,
};

/*
 * Feeds data as a first piece of first bytes, then pieces of step bytes
 * (step 0: the rest at once); then end of input if eof and incomplete.
 */
static void
parse_pieces(enum httpmsg_kind kind, size_t maxhead, const char *data,
    size_t len, size_t first, size_t step, int eof, struct pres *r)
{
	struct httpmsg *m;
	size_t off = 0, n, piece;
	ssize_t rc;

	pres_init(r);
	m = httpmsg_new(kind, maxhead, &pres_cbs, r);
	ck_assert_ptr_nonnull(m);
	r->result = 0;
	for (piece = 0; piece <= len + 1; piece++) {
		n = piece == 0 ? first : step == 0 ? len - off : step;
		if (n > len - off)
			n = len - off;
		rc = httpmsg_feed(m, data + off, n);
		if (rc == -1) {
			r->result = -1;
			break;
		}
		ck_assert_int_ge(rc, 0);
		ck_assert_uint_le((size_t)rc, n);
		off += (size_t)rc;
		if ((size_t)rc < n) {
			/* Only a complete message leaves bytes unconsumed. */
			ck_assert(httpmsg_complete(m));
			break;
		}
		if (off == len)
			break;
	}
	if (r->result == 0 && httpmsg_complete(m))
		r->result = 1;
	if (r->result == 0 && eof) {
		if (httpmsg_feed_eof(m) == 0) {
			ck_assert(httpmsg_complete(m));
			r->result = 1;
		} else
			r->result = -1;
	}
	r->consumed = off;
	if (r->result == -1)
		snprintf(r->err, sizeof(r->err), "%s", httpmsg_error(m));
	if (r->result == 1) {
		/* Accessors still answer after completion. */
		ck_assert(httpmsg_complete(m));
		ck_assert_str_eq(httpmsg_target(m), r->target);
		ck_assert_int_eq(httpmsg_status(m), r->status);
		/* Complete: nothing more is taken. */
		ck_assert_int_eq(httpmsg_feed(m, "GET", 3), 0);
	}
	httpmsg_free(m);
}

static void
pres_expect_same(const struct pres *a, const struct pres *b, const char *what,
    size_t k)
{
	ck_assert_msg(a->result == b->result, "%s %zu: result %d vs %d (%s)",
	    what, k, a->result, b->result, b->err);
	/* After an error, how much was taken depends on the pieces. */
	ck_assert_msg(a->result == -1 || a->consumed == b->consumed,
	    "%s %zu: consumed %zu vs %zu",
	    what, k, a->consumed, b->consumed);
	ck_assert_msg(strcmp(a->err, b->err) == 0, "%s %zu: err %s vs %s",
	    what, k, a->err, b->err);
	ck_assert_msg(a->heads == b->heads && a->completes == b->completes,
	    "%s %zu: callbacks differ", what, k);
	ck_assert_msg(strcmp(a->method, b->method) == 0 &&
	    strcmp(a->target, b->target) == 0 &&
	    strcmp(a->reason, b->reason) == 0, "%s %zu: head differs: "
	    "'%s' '%s' '%s'", what, k, b->method, b->target, b->reason);
	ck_assert_msg(a->status == b->status && a->version == b->version &&
	    a->keep_alive == b->keep_alive && a->chunked == b->chunked &&
	    a->clen == b->clen, "%s %zu: status/version/flags differ", what,
	    k);
	ck_assert_msg(a->hdrs.len == b->hdrs.len &&
	    memcmp(buf_cstr(&a->hdrs), buf_cstr(&b->hdrs), a->hdrs.len) == 0,
	    "%s %zu: headers differ:\n%s\nvs\n%s", what, k, buf_cstr(&a->hdrs),
	    buf_cstr(&b->hdrs));
	ck_assert_msg(a->body.len == b->body.len &&
	    memcmp(buf_cstr(&a->body), buf_cstr(&b->body), a->body.len) == 0,
	    "%s %zu: body differs (%zu vs %zu bytes)", what, k, a->body.len,
	    b->body.len);
}

/*
 * Parses data whole into *whole, then split at every offset and byte by
 * byte; each must give exactly the same result.
 */
static void
parse_all_ways(enum httpmsg_kind kind, size_t maxhead, const char *data,
    size_t len, int eof, struct pres *whole)
{
	struct pres r;
	size_t k;

	parse_pieces(kind, maxhead, data, len, len, 0, eof, whole);
	for (k = 0; k <= len; k++) {
		parse_pieces(kind, maxhead, data, len, k, 0, eof, &r);
		pres_expect_same(whole, &r, "split at", k);
		pres_free(&r);
	}
	parse_pieces(kind, maxhead, data, len, 1, 1, eof, &r);
	pres_expect_same(whole, &r, "byte by byte", 1);
	pres_free(&r);
	parse_pieces(kind, maxhead, data, len, 3, 7, eof, &r);
	pres_expect_same(whole, &r, "pieces of 7", 7);
	pres_free(&r);
}

#define PARSE_ALL(kind, str, eof, r) \
	parse_all_ways((kind), MAXHEAD, (str), sizeof(str) - 1, (eof), (r))

static const char *
hdr_line(const struct pres *r)
{
	return buf_cstr(&r->hdrs);
}

/* ---- requests ---- */

START_TEST(test_request_simple)
{
	static const char req[] =
	    "GET /metrics HTTP/1.1\r\n"
	    "Host: proxy.example:8080\r\n"
	    "User-Agent: test\r\n"
	    "\r\n";
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST, req, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, sizeof(req) - 1);
	ck_assert_int_eq(r.heads, 1);
	ck_assert_int_eq(r.completes, 1);
	ck_assert_str_eq(r.method, "GET");
	ck_assert_str_eq(r.target, "/metrics");
	ck_assert_int_eq(r.version, 11);
	ck_assert(r.keep_alive);
	ck_assert(!r.chunked);
	ck_assert_int_eq(r.clen, -1);
	ck_assert_str_eq(hdr_line(&r),
	    "Host: proxy.example:8080\nUser-Agent: test\n");
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_int_eq(r.body_calls, 0);
	pres_free(&r);
}
END_TEST

START_TEST(test_request_proxy_form)
{
	static const char req[] =
	    "GET http://node1.example:9100/metrics?x=1 HTTP/1.1\r\n"
	    "Host: node1.example:9100\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
	    "\r\n";
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST, req, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_str_eq(r.method, "GET");
	ck_assert_str_eq(r.target, "http://node1.example:9100/metrics?x=1");
	ck_assert_uint_eq(r.consumed, sizeof(req) - 1);
	pres_free(&r);
}
END_TEST

START_TEST(test_request_content_length_body)
{
	static const char req[] =
	    "POST /poll HTTP/1.1\r\n"
	    "Host: proxy\r\n"
	    "Content-Length: 13\r\n"
	    "\r\n"
	    "node1.example";
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST, req, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_str_eq(r.method, "POST");
	ck_assert_int_eq(r.clen, 13);
	ck_assert_uint_eq(r.body.len, 13);
	ck_assert_str_eq(buf_cstr(&r.body), "node1.example");
	ck_assert_uint_eq(r.consumed, sizeof(req) - 1);
	pres_free(&r);
}
END_TEST

START_TEST(test_request_chunked_body)
{
	static const char req[] =
	    "POST /push HTTP/1.1\r\n"
	    "Host: proxy\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "\r\n"
	    "5\r\nhello\r\n"
	    "1;ext=1\r\n \r\n"
	    "A\r\n0123456789\r\n"
	    "0\r\n"
	    "Trailer-X: y\r\n"
	    "\r\n";
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST, req, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert(r.chunked);
	ck_assert_int_eq(r.clen, -1);
	ck_assert_uint_eq(r.body.len, 16);
	ck_assert_str_eq(buf_cstr(&r.body), "hello 0123456789");
	ck_assert_uint_eq(r.consumed, sizeof(req) - 1);
	pres_free(&r);
}
END_TEST

START_TEST(test_request_incomplete_without_eof)
{
	static const char req[] =
	    "POST /poll HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST, req, 0, &r);
	ck_assert_int_eq(r.result, 0);
	ck_assert_int_eq(r.heads, 1);
	ck_assert_int_eq(r.completes, 0);
	ck_assert_str_eq(buf_cstr(&r.body), "abc");
	ck_assert_uint_eq(r.consumed, sizeof(req) - 1);
	pres_free(&r);
}
END_TEST

START_TEST(test_header_lookup_case_and_empty)
{
	static const char req[] =
	    "POST /poll HTTP/1.1\r\n"
	    "Host: proxy\r\n"
	    "content-TYPE: \r\n"
	    "X-Empty:\r\n"
	    "X-Dup: first\r\n"
	    "x-dup: second\r\n"
	    "X-Spaces:    padded\r\n"
	    "Content-Length: 0\r\n"
	    "\r\n";
	struct httpmsg *m;

	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, NULL, NULL);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(httpmsg_header(m, "Host"));
	ck_assert_uint_eq(httpmsg_header_count(m), 0);
	ck_assert_int_eq(httpmsg_feed(m, req, sizeof(req) - 1),
	    sizeof(req) - 1);
	ck_assert(httpmsg_complete(m));
	ck_assert_uint_eq(httpmsg_header_count(m), 7);
	ck_assert_str_eq(httpmsg_header(m, "host"), "proxy");
	ck_assert_str_eq(httpmsg_header(m, "HOST"), "proxy");
	ck_assert_str_eq(httpmsg_header(m, "Content-Type"), "");
	ck_assert_str_eq(httpmsg_header(m, "x-empty"), "");
	ck_assert_str_eq(httpmsg_header(m, "X-DUP"), "first");
	ck_assert_str_eq(httpmsg_header(m, "X-Spaces"), "padded");
	ck_assert_ptr_null(httpmsg_header(m, "X-Missing"));
	ck_assert_ptr_null(httpmsg_header(m, "X-Du"));
	ck_assert_str_eq(httpmsg_header_at(m, 1)->name, "content-TYPE");
	ck_assert_str_eq(httpmsg_header_at(m, 4)->name, "x-dup");
	ck_assert_str_eq(httpmsg_header_at(m, 4)->value, "second");
	ck_assert_int_eq(httpmsg_content_length(m), 0);
	httpmsg_free(m);
}
END_TEST

START_TEST(test_empty_header_values_all_ways)
{
	static const char req[] =
	    "GET / HTTP/1.1\r\n"
	    "A:\r\n"
	    "B: \r\n"
	    "C:x\r\n"
	    "D:\r\n"
	    "\r\n";
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST, req, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_str_eq(hdr_line(&r), "A: \nB: \nC: x\nD: \n");
	pres_free(&r);
}
END_TEST

START_TEST(test_keep_alive_rules)
{
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	    &r);
	ck_assert(r.keep_alive);
	pres_free(&r);
	PARSE_ALL(HTTPMSG_REQUEST,
	    "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert(!r.keep_alive);
	pres_free(&r);
	PARSE_ALL(HTTPMSG_REQUEST, "GET / HTTP/1.0\r\n\r\n", 0, &r);
	ck_assert_int_eq(r.version, 10);
	ck_assert(!r.keep_alive);
	pres_free(&r);
	PARSE_ALL(HTTPMSG_REQUEST,
	    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, &r);
	ck_assert(r.keep_alive);
	pres_free(&r);
}
END_TEST

/* ---- responses ---- */

START_TEST(test_response_content_length)
{
	static const char resp[] =
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 5\r\n"
	    "Id: abc\r\n"
	    "\r\n"
	    "hello";
	struct pres r;

	PARSE_ALL(HTTPMSG_RESPONSE, resp, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "OK");
	ck_assert_int_eq(r.version, 11);
	ck_assert_int_eq(r.clen, 5);
	ck_assert_str_eq(buf_cstr(&r.body), "hello");
	ck_assert_uint_eq(r.consumed, sizeof(resp) - 1);
	pres_free(&r);
}
END_TEST

START_TEST(test_response_chunked)
{
	static const char resp[] =
	    "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "\r\n"
	    "3\r\nabc\r\n"
	    "10\r\n0123456789abcdef\r\n"
	    "0\r\n\r\n";
	struct pres r;

	PARSE_ALL(HTTPMSG_RESPONSE, resp, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert(r.chunked);
	ck_assert_str_eq(buf_cstr(&r.body), "abc0123456789abcdef");
	ck_assert_uint_eq(r.consumed, sizeof(resp) - 1);
	pres_free(&r);
}
END_TEST

START_TEST(test_response_eof_delimited)
{
	static const char resp[] =
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "up 1\nx 2\n";
	struct pres r;

	/* Without end of input the message never completes... */
	PARSE_ALL(HTTPMSG_RESPONSE, resp, 0, &r);
	ck_assert_int_eq(r.result, 0);
	ck_assert_int_eq(r.completes, 0);
	ck_assert_str_eq(buf_cstr(&r.body), "up 1\nx 2\n");
	pres_free(&r);
	/* ...and httpmsg_feed_eof completes it. */
	PARSE_ALL(HTTPMSG_RESPONSE, resp, 1, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(r.completes, 1);
	ck_assert_str_eq(buf_cstr(&r.body), "up 1\nx 2\n");
	ck_assert_int_eq(r.clen, -1);
	ck_assert(!r.keep_alive);
	pres_free(&r);
}
END_TEST

START_TEST(test_response_eof_empty_body)
{
	struct pres r;

	PARSE_ALL(HTTPMSG_RESPONSE, "HTTP/1.1 200 OK\r\n\r\n", 1, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.body.len, 0);
	pres_free(&r);
}
END_TEST

START_TEST(test_response_http00_error)
{
	static const char resp[] =
	    "HTTP/0.0 500 Internal Server Error\r\n"
	    "Id: " SAMPLE_ID "\r\n"
	    "\r\n"
	    "dial tcp: connection refused";
	struct pres r;

	PARSE_ALL(HTTPMSG_RESPONSE, resp, 1, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.reason, "Internal Server Error");
	ck_assert_int_eq(r.version, 0);
	ck_assert_str_eq(buf_cstr(&r.body), "dial tcp: connection refused");
	pres_free(&r);
}
END_TEST

START_TEST(test_response_no_body_statuses)
{
	struct pres r;

	PARSE_ALL(HTTPMSG_RESPONSE, "HTTP/1.1 204 No Content\r\n\r\n", 0,
	    &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(r.status, 204);
	pres_free(&r);
	PARSE_ALL(HTTPMSG_RESPONSE, "HTTP/1.1 304 Not Modified\r\n\r\n", 0,
	    &r);
	ck_assert_int_eq(r.result, 1);
	pres_free(&r);
	/* An empty reason phrase is legal. */
	PARSE_ALL(HTTPMSG_RESPONSE,
	    "HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n", 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(r.status, 599);
	ck_assert_str_eq(r.reason, "");
	pres_free(&r);
}
END_TEST

START_TEST(test_truncated)
{
	struct pres r;

	PARSE_ALL(HTTPMSG_RESPONSE,
	    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_ptr_nonnull(strstr(r.err, "truncated"));
	ck_assert_str_eq(buf_cstr(&r.body), "abc");
	pres_free(&r);
	PARSE_ALL(HTTPMSG_RESPONSE,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n", 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_ptr_nonnull(strstr(r.err, "truncated"));
	pres_free(&r);
	PARSE_ALL(HTTPMSG_REQUEST, "GET / HTTP/1.1\r\nHost: a", 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_ptr_nonnull(strstr(r.err, "truncated"));
	ck_assert_int_eq(r.heads, 0);
	pres_free(&r);
}
END_TEST

START_TEST(test_eof_states)
{
	struct httpmsg *m;

	/* End of input before any byte. */
	m = httpmsg_new(HTTPMSG_RESPONSE, MAXHEAD, NULL, NULL);
	ck_assert_int_eq(httpmsg_feed_eof(m), -1);
	ck_assert_str_ne(httpmsg_error(m), "no error");
	httpmsg_free(m);
	/* A complete message: end of input is fine, repeatedly. */
	m = httpmsg_new(HTTPMSG_RESPONSE, MAXHEAD, NULL, NULL);
	ck_assert_str_eq(httpmsg_error(m), "no error");
	ck_assert_int_eq(httpmsg_feed(m,
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38), 38);
	ck_assert(httpmsg_complete(m));
	ck_assert_int_eq(httpmsg_feed_eof(m), 0);
	ck_assert_int_eq(httpmsg_feed_eof(m), 0);
	httpmsg_free(m);
	httpmsg_free(NULL);
}
END_TEST

/* ---- errors and limits ---- */

START_TEST(test_malformed)
{
	static const char *const bad_req[] = {
	    "GARBAGE\r\n\r\n",
	    "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	    "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
	    "GET /a b HTTP/1.1\r\n\r\n",
	    "GET / FTP/1.1\r\n\r\n",
	};
	struct pres r;
	size_t i;

	for (i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
		parse_all_ways(HTTPMSG_REQUEST, MAXHEAD, bad_req[i],
		    strlen(bad_req[i]), 1, &r);
		ck_assert_msg(r.result == -1, "accepted: %s", bad_req[i]);
		ck_assert_msg(r.err[0] != '\0' &&
		    strcmp(r.err, "no error") != 0, "no error text");
		ck_assert_int_eq(r.completes, 0);
		pres_free(&r);
	}
	PARSE_ALL(HTTPMSG_RESPONSE, "HTTP/1.1 abc OK\r\n\r\n", 1, &r);
	ck_assert_int_eq(r.result, -1);
	pres_free(&r);
}
END_TEST

START_TEST(test_error_is_sticky)
{
	static const char ok[] = "GET / HTTP/1.1\r\n\r\n";
	struct httpmsg *m;

	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, NULL, NULL);
	ck_assert_int_eq(httpmsg_feed(m, "BAD\r\n\r\n", 7), -1);
	ck_assert_int_eq(httpmsg_feed(m, ok, sizeof(ok) - 1), -1);
	ck_assert_int_eq(httpmsg_feed_eof(m), -1);
	/* Reset clears the error. */
	httpmsg_reset(m);
	ck_assert_str_eq(httpmsg_error(m), "no error");
	ck_assert_int_eq(httpmsg_feed(m, ok, sizeof(ok) - 1), sizeof(ok) - 1);
	ck_assert(httpmsg_complete(m));
	httpmsg_free(m);
}
END_TEST

START_TEST(test_connect_and_upgrade_rejected)
{
	struct pres r;

	PARSE_ALL(HTTPMSG_REQUEST,
	    "CONNECT node1.example:443 HTTP/1.1\r\n"
	    "Host: node1.example:443\r\n\r\n", 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_ptr_nonnull(strstr(r.err, "CONNECT"));
	/* The handler never sees it. */
	ck_assert_int_eq(r.heads, 0);
	ck_assert_int_eq(r.completes, 0);
	pres_free(&r);
	PARSE_ALL(HTTPMSG_REQUEST,
	    "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n", 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_int_eq(r.heads, 0);
	pres_free(&r);
}
END_TEST

/* A head of about total bytes: "GET / HTTP/1.1", one padded header. */
static void
make_big_head(struct buf *b, const char *name, size_t valuelen)
{
	size_t i;

	buf_init(b, 1 << 20);
	ck_assert_int_eq(buf_printf(b, "GET / HTTP/1.1\r\n%s: ", name), 0);
	for (i = 0; i < valuelen; i++)
		ck_assert_int_eq(buf_append(b, "v", 1), 0);
	ck_assert_int_eq(buf_puts(b, "\r\n\r\n"), 0);
}

START_TEST(test_head_too_large)
{
	struct buf b;
	struct pres r;

	/* Well under the cap: fine. */
	make_big_head(&b, "X-Big", 400);
	parse_all_ways(HTTPMSG_REQUEST, 1024, b.data, b.len, 0, &r);
	ck_assert_int_eq(r.result, 1);
	pres_free(&r);
	buf_release(&b);
	/* Twice the cap: rejected, whatever the split. */
	make_big_head(&b, "X-Big", 2048);
	parse_all_ways(HTTPMSG_REQUEST, 1024, b.data, b.len, 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_ptr_nonnull(strstr(r.err, "too large"));
	ck_assert_int_eq(r.heads, 0);
	pres_free(&r);
	buf_release(&b);
	/* A long target counts too. */
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "GET /"), 0);
	while (b.len < 3000)
		ck_assert_int_eq(buf_puts(&b, "aaaaaaaaaa"), 0);
	ck_assert_int_eq(buf_puts(&b, " HTTP/1.1\r\n\r\n"), 0);
	parse_all_ways(HTTPMSG_REQUEST, 1024, b.data, b.len, 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_ptr_nonnull(strstr(r.err, "too large"));
	pres_free(&r);
	buf_release(&b);
}
END_TEST

/*
 * The cap is on the head, not only on what is kept of it: white space
 * padding a value is part of the head's size.
 */
START_TEST(test_head_too_large_padding)
{
	struct buf b;
	struct pres r;
	size_t i;

	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "GET / HTTP/1.1\r\nX-Pad:"), 0);
	for (i = 0; i < 4096; i++)
		ck_assert_int_eq(buf_append(&b, " ", 1), 0);
	ck_assert_int_eq(buf_puts(&b, "v\r\n\r\n"), 0);
	parse_pieces(HTTPMSG_REQUEST, 1024, b.data, b.len, b.len, 0, 1, &r);
	ck_assert_msg(r.result == -1,
	    "a %zu-byte head was accepted with max_header_bytes 1024", b.len);
	pres_free(&r);
	buf_release(&b);
}
END_TEST

START_TEST(test_too_many_headers)
{
	struct buf b;
	struct pres r;
	size_t i;

	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "GET / HTTP/1.1\r\n"), 0);
	for (i = 0; i < LIMIT_MAX_HEADERS; i++)
		ck_assert_int_eq(buf_printf(&b, "X-H%zu: %zu\r\n", i, i), 0);
	ck_assert_int_eq(buf_puts(&b, "\r\n"), 0);
	/* Exactly the limit: fine. */
	parse_pieces(HTTPMSG_REQUEST, MAXHEAD, b.data, b.len, b.len, 0, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, b.len);
	pres_free(&r);
	/* One more: refused, also byte by byte. */
	b.len -= 2;
	ck_assert_int_eq(buf_puts(&b, "X-One-Too-Many: 1\r\n\r\n"), 0);
	parse_pieces(HTTPMSG_REQUEST, MAXHEAD, b.data, b.len, b.len, 0, 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_str_eq(r.err, "too many headers");
	ck_assert_int_eq(r.heads, 0);
	pres_free(&r);
	parse_pieces(HTTPMSG_REQUEST, MAXHEAD, b.data, b.len, 1, 1, 1, &r);
	ck_assert_int_eq(r.result, -1);
	ck_assert_str_eq(r.err, "too many headers");
	pres_free(&r);
	buf_release(&b);
}
END_TEST

static int
reject_headers_cb(struct httpmsg *m, void *arg)
{
	return -1;
}

static int
reject_body_cb(struct httpmsg *m, const char *data, size_t len, void *arg)
{
	return -1;
}

START_TEST(test_callback_rejects)
{
	static const char req[] =
	    "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
	static const struct httpmsg_cbs hcbs = {
		.headers_cb = reject_headers_cb,
	};
	static const struct httpmsg_cbs bcbs = {
		.body_cb = reject_body_cb,
	};
	struct httpmsg *m;

	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, &hcbs, NULL);
	ck_assert_int_eq(httpmsg_feed(m, req, sizeof(req) - 1), -1);
	ck_assert(!httpmsg_complete(m));
	httpmsg_free(m);
	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, &bcbs, NULL);
	ck_assert_int_eq(httpmsg_feed(m, req, sizeof(req) - 1), -1);
	ck_assert(httpmsg_head_done(m));
	ck_assert(!httpmsg_complete(m));
	httpmsg_free(m);
}
END_TEST

/* ---- pipelining ---- */

START_TEST(test_pipelined)
{
	static const char two[] =
	    "POST /push HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
	    "GET /second HTTP/1.1\r\nHost: b\r\n\r\n"
	    "GET /third HTTP/1.1\r\n\r\n";
	size_t first = strlen("POST /push HTTP/1.1\r\nContent-Length: 5\r\n"
	    "\r\nhello");
	size_t second = strlen("GET /second HTTP/1.1\r\nHost: b\r\n\r\n");
	struct pres r;
	struct httpmsg *m;
	ssize_t n;

	/* Every split point: the first message ends exactly where it ends. */
	PARSE_ALL(HTTPMSG_REQUEST, two, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, first);
	ck_assert_str_eq(r.target, "/push");
	ck_assert_str_eq(buf_cstr(&r.body), "hello");
	pres_free(&r);

	pres_init(&r);
	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, &pres_cbs, &r);
	n = httpmsg_feed(m, two, sizeof(two) - 1);
	ck_assert_int_eq(n, (ssize_t)first);
	ck_assert(httpmsg_complete(m));
	ck_assert_str_eq(httpmsg_target(m), "/push");
	/* Paused: nothing more until reset. */
	ck_assert_int_eq(httpmsg_feed(m, two + first, sizeof(two) - 1 - first),
	    0);
	ck_assert_int_eq(r.completes, 1);
	httpmsg_reset(m);
	ck_assert(!httpmsg_complete(m));
	ck_assert(!httpmsg_head_done(m));
	ck_assert_uint_eq(httpmsg_header_count(m), 0);
	n = httpmsg_feed(m, two + first, sizeof(two) - 1 - first);
	ck_assert_int_eq(n, (ssize_t)second);
	ck_assert_str_eq(httpmsg_target(m), "/second");
	ck_assert_str_eq(httpmsg_header(m, "Host"), "b");
	ck_assert_ptr_null(httpmsg_header(m, "Content-Length"));
	ck_assert_int_eq(httpmsg_content_length(m), -1);
	httpmsg_reset(m);
	n = httpmsg_feed(m, two + first + second,
	    sizeof(two) - 1 - first - second);
	ck_assert_int_eq(n, (ssize_t)(sizeof(two) - 1 - first - second));
	ck_assert_str_eq(httpmsg_target(m), "/third");
	ck_assert_uint_eq(httpmsg_header_count(m), 0);
	ck_assert_int_eq(r.completes, 3);
	ck_assert_int_eq(r.heads, 3);
	httpmsg_free(m);
	pres_free(&r);
}
END_TEST

START_TEST(test_pipelined_chunked_then_response_reuse)
{
	static const char two[] =
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\nok\r\n0\r\n\r\n"
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
	size_t first = strlen("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
	struct pres r;
	struct httpmsg *m;

	PARSE_ALL(HTTPMSG_RESPONSE, two, 1, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, first);
	ck_assert_str_eq(buf_cstr(&r.body), "ok");
	pres_free(&r);

	pres_init(&r);
	m = httpmsg_new(HTTPMSG_RESPONSE, MAXHEAD, &pres_cbs, &r);
	ck_assert_int_eq(httpmsg_feed(m, two, sizeof(two) - 1), first);
	httpmsg_reset(m);
	ck_assert_int_eq(httpmsg_feed(m, two + first, sizeof(two) - 1 - first),
	    sizeof(two) - 1 - first);
	ck_assert_int_eq(httpmsg_status(m), 404);
	ck_assert_str_eq(httpmsg_reason(m), "Not Found");
	ck_assert(!httpmsg_chunked(m));
	ck_assert_str_eq(buf_cstr(&r.body), "okno");
	httpmsg_free(m);
	pres_free(&r);
}
END_TEST

/* ---- writers ---- */

START_TEST(test_write_request_head)
{
	static const struct httpmsg_header h[] = {
		{ "Host", "node1.example:9100" },
		{ "Accept-Encoding", "gzip" },
		{ "Id", SAMPLE_ID },
		{ "X-Empty", "" },
	};
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET",
	    "http://node1.example:9100/metrics?x=1", h, 4), 0);
	ck_assert_str_eq(buf_cstr(&out),
	    "GET http://node1.example:9100/metrics?x=1 HTTP/1.1\r\n"
	    "Host: node1.example:9100\r\n"
	    "Accept-Encoding: gzip\r\n"
	    "Id: " SAMPLE_ID "\r\n"
	    "X-Empty: \r\n"
	    "\r\n");
	buf_reset(&out);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "POST", "/push",
	    NULL, 0), 0);
	ck_assert_str_eq(buf_cstr(&out), "POST /push HTTP/1.1\r\n\r\n");
	buf_release(&out);
}
END_TEST

START_TEST(test_write_response_head)
{
	static const struct httpmsg_header h[] = {
		{ "Content-Type", "text/plain; version=0.0.4" },
		{ "Content-Length", "5" },
	};
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 200, NULL, h, 2),
	    0);
	ck_assert_str_eq(buf_cstr(&out),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: 5\r\n"
	    "\r\n");
	buf_reset(&out);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 504,
	    "Gateway Timeout", NULL, 0), 0);
	ck_assert_str_eq(buf_cstr(&out),
	    "HTTP/1.1 504 Gateway Timeout\r\n\r\n");
	buf_reset(&out);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 299, NULL, NULL, 0),
	    0);
	ck_assert_str_eq(buf_cstr(&out), "HTTP/1.1 299 Unknown\r\n\r\n");
	buf_reset(&out);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 200, "", NULL, 0),
	    0);
	ck_assert_str_eq(buf_cstr(&out), "HTTP/1.1 200 \r\n\r\n");
	buf_release(&out);
}
END_TEST

START_TEST(test_write_refuses_injection)
{
	static const char *const bad_values[] = {
		"a\r\nX-Injected: 1", "a\nb", "a\rb", "\r\n", "end\n",
	};
	static const char *const bad_names[] = {
		"", "Bad Name", "Bad:Name", "X-A\r\nX-B", "X-\n", "(x)",
		"na\"me", "a/b", "\x7f",
	};
	struct httpmsg_header h[2] = { { "Host", "a" }, { NULL, NULL } };
	struct buf out;
	size_t i;

	buf_init(&out, 4096);
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		h[1].name = "X-Value";
		h[1].value = bad_values[i];
		ck_assert(!httpmsg_header_valid(h[1].name, h[1].value));
		ck_assert_int_eq(httpmsg_write_request_head(&out, "GET", "/",
		    h, 2), -1);
		ck_assert_int_eq(httpmsg_write_response_head(&out, 200, NULL,
		    h, 2), -1);
	}
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		h[1].name = bad_names[i];
		h[1].value = "v";
		ck_assert_msg(!httpmsg_header_valid(h[1].name, h[1].value),
		    "name accepted: %s", bad_names[i]);
		ck_assert_int_eq(httpmsg_write_request_head(&out, "GET", "/",
		    h, 2), -1);
		ck_assert_int_eq(httpmsg_write_response_head(&out, 200, NULL,
		    h, 2), -1);
	}
	ck_assert(!httpmsg_header_valid(NULL, "v"));
	ck_assert(!httpmsg_header_valid("X", NULL));
	ck_assert(httpmsg_header_valid("X-Ok_1.!#$%&'*+^`|~", ""));
	ck_assert(httpmsg_header_valid("Content-Type",
	    "text/plain; charset=utf-8"));
	/* Request line and status line parts. */
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET",
	    "/a HTTP/1.1\r\nX: y", NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET", "/a b",
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET", "/a\tb",
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET", "",
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "G T", "/",
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "", "/",
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET\r\n", "/",
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 200,
	    "OK\r\nX-Injected: 1", NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 200, "OK\n",
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 99, NULL,
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 1000, NULL,
	    NULL, 0), -1);
	ck_assert_int_eq(httpmsg_write_response_head(&out, -200, NULL,
	    NULL, 0), -1);
	/* Nothing injected ever reached the output. */
	ck_assert_ptr_null(strstr(buf_cstr(&out), "X-Injected"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "X: y"));
	buf_release(&out);
}
END_TEST

START_TEST(test_write_full_buffer)
{
	static const struct httpmsg_header h[] = {
		{ "Host", "node1.example:9100" },
	};
	struct buf out;
	size_t need, cap;

	buf_init(&out, 4096);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET",
	    "http://node1.example:9100/metrics", h, 1), 0);
	need = out.len;
	buf_release(&out);
	for (cap = 0; cap < need; cap++) {
		buf_init(&out, cap);
		ck_assert_int_eq(httpmsg_write_request_head(&out, "GET",
		    "http://node1.example:9100/metrics", h, 1), -1);
		ck_assert_uint_le(out.len, cap);
		buf_release(&out);
	}
	buf_init(&out, need);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET",
	    "http://node1.example:9100/metrics", h, 1), 0);
	buf_release(&out);
	buf_init(&out, 10);
	ck_assert_int_eq(httpmsg_write_response_head(&out, 200, NULL, h, 1),
	    -1);
	buf_release(&out);
}
END_TEST

/* What the writer produces, the parser reads back unchanged. */
START_TEST(test_write_parse_roundtrip)
{
	static const struct httpmsg_header h[] = {
		{ "Host", SAMPLE_TARGET },
		{ "User-Agent", "Prometheus/2.42.0" },
		{ "Id", SAMPLE_ID },
		{ "X-Prometheus-Scrape-Timeout-Seconds", "10" },
	};
	struct buf out;
	struct pres r;

	buf_init(&out, 4096);
	ck_assert_int_eq(httpmsg_write_request_head(&out, "GET",
	    "http://" SAMPLE_TARGET "/metrics", h, 4), 0);
	parse_all_ways(HTTPMSG_REQUEST, MAXHEAD, out.data, out.len, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, out.len);
	ck_assert_str_eq(r.target, "http://" SAMPLE_TARGET "/metrics");
	ck_assert_str_eq(hdr_line(&r),
	    "Host: " SAMPLE_TARGET "\n"
	    "User-Agent: Prometheus/2.42.0\n"
	    "Id: " SAMPLE_ID "\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\n");
	pres_free(&r);
	buf_release(&out);
}
END_TEST

START_TEST(test_reason_phrases)
{
	ck_assert_str_eq(httpmsg_reason_phrase(100), "Continue");
	ck_assert_str_eq(httpmsg_reason_phrase(200), "OK");
	ck_assert_str_eq(httpmsg_reason_phrase(204), "No Content");
	ck_assert_str_eq(httpmsg_reason_phrase(400), "Bad Request");
	ck_assert_str_eq(httpmsg_reason_phrase(404), "Not Found");
	ck_assert_str_eq(httpmsg_reason_phrase(408), "Request Timeout");
	ck_assert_str_eq(httpmsg_reason_phrase(413), "Content Too Large");
	ck_assert_str_eq(httpmsg_reason_phrase(431),
	    "Request Header Fields Too Large");
	ck_assert_str_eq(httpmsg_reason_phrase(500), "Internal Server Error");
	ck_assert_str_eq(httpmsg_reason_phrase(502), "Bad Gateway");
	ck_assert_str_eq(httpmsg_reason_phrase(503), "Service Unavailable");
	ck_assert_str_eq(httpmsg_reason_phrase(504), "Gateway Timeout");
	ck_assert_str_eq(httpmsg_reason_phrase(0), "Unknown");
	ck_assert_str_eq(httpmsg_reason_phrase(299), "Unknown");
	ck_assert_str_eq(httpmsg_reason_phrase(-1), "Unknown");
	ck_assert_str_eq(httpmsg_reason_phrase(1000), "Unknown");
}
END_TEST

/* ---- wire samples (tests/data) ---- */

/* Reads tests/data/name, filling the README's @NAME@ placeholders. */
static void
load_sample(const char *name, struct buf *out)
{
	static const struct {
		const char *key, *val;
	} subst[] = {
		{ "@ID@", SAMPLE_ID },
		{ "@TARGET@", SAMPLE_TARGET },
		{ "@HOST@", "proxy.example:8080" },
		{ "@TIMEOUT@", "10" },
		{ "@LEN@", "206" },
	};
	const char *dir = getenv("TEST_DATA_DIR");
	char path[4096], chunk[4096];
	struct buf raw;
	FILE *f;
	size_t n, i, k, headend;
	const char *end;

	ck_assert_msg(dir != NULL, "TEST_DATA_DIR is not set");
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, name),
	    (int)sizeof(path));
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	buf_init(&raw, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_assert_int_eq(buf_append(&raw, chunk, n), 0);
	ck_assert(!ferror(f));
	fclose(f);
	ck_assert_uint_gt(raw.len, 0);
	/* Placeholders only in the head: a binary body is left alone. */
	end = strstr(buf_cstr(&raw), "\r\n\r\n");
	ck_assert_msg(end != NULL, "%s: no CRLF CRLF", name);
	headend = (size_t)(end - raw.data) + 4;
	buf_init(out, 1 << 20);
	for (i = 0; i < raw.len; ) {
		for (k = 0; i < headend && k < sizeof(subst) / sizeof(subst[0]);
		    k++) {
			n = strlen(subst[k].key);
			if (i + n <= headend &&
			    memcmp(raw.data + i, subst[k].key, n) == 0)
				break;
		}
		if (i < headend && k < sizeof(subst) / sizeof(subst[0])) {
			ck_assert_int_eq(buf_puts(out, subst[k].val), 0);
			i += strlen(subst[k].key);
		} else {
			ck_assert_int_eq(buf_append(out, raw.data + i, 1), 0);
			i++;
		}
	}
	buf_release(&raw);
}

static const char sample_metrics[] =
    "# HELP node_load1 1m load average.\n"
    "# TYPE node_load1 gauge\n"
    "node_load1 0.21\n"
    "# HELP node_time_seconds System time in seconds since epoch (1970).\n"
    "# TYPE node_time_seconds gauge\n"
    "node_time_seconds 1.7005644e+09\n";

static const char sample_error[] =
    "Get \"http://node1.example:9100/metrics\": dial tcp 127.0.0.1:9100: "
    "connect: connection refused";

/*
 * The wire samples, one row each: how to feed the file (with EOF or not)
 * and what the parse must give, all ways (whole, split, byte by byte).
 * A field left 0 or NULL is not checked, except where noted.
 */
#define SAMPLE_ANY	INT64_MIN	/* clen not checked */

struct sample_row {
	const char	*file;
	enum httpmsg_kind kind;
	int		 eof;		/* fed with EOF after its bytes */
	int		 result; /* 1 complete, 0 incomplete (always checked) */
	int		 need_eof; /* close-delimited: incomplete without EOF */
	int		 consumed_all;	/* every byte taken */
	const char	*method, *target;	/* requests */
	int		 status;	/* responses */
	const char	*reason;
	int		 version;	/* -1: not checked */
	int64_t		 clen;		/* SAMPLE_ANY: not checked */
	int		 chunked;
	int		 close;		/* not keep-alive */
	int		 heads;		/* headers callbacks */
	int		 push_headers;	/* the reference push's 200 head */
	const char	*headers[2];	/* substrings of the header lines */
	const char	*header_lines;	/* all the header lines, exactly */
	const char	*body;		/* the body as text */
	size_t		 body_tail; /* the body is the file's last n bytes */
	const char	*body_magic;	/* its first bytes */
};

static const char sample_push_ct[] =
    "Content-Type: text/plain; version=0.0.4; charset=utf-8\n";

static const struct sample_row sample_rows[] = {
	{ .file = "push_content_length.http", .kind = HTTPMSG_RESPONSE,
	    .result = 1, .consumed_all = 1, .version = -1,
	    .clen = (int64_t)sizeof(sample_metrics) - 1, .push_headers = 1,
	    .body = sample_metrics },
	/* Chunk framing removed: the same bytes as the length-framed one. */
	{ .file = "push_chunked.http", .kind = HTTPMSG_RESPONSE,
	    .result = 1, .consumed_all = 1, .version = -1, .clen = -1,
	    .chunked = 1, .push_headers = 1, .body = sample_metrics },
	{ .file = "push_close_delimited.http", .kind = HTTPMSG_RESPONSE,
	    .eof = 1, .result = 1, .need_eof = 1, .consumed_all = 1,
	    .version = -1, .clen = -1, .close = 1, .push_headers = 1,
	    .body = sample_metrics },
	/* The body is exactly the file's tail, binary bytes and all. */
	{ .file = "push_gzip.http", .kind = HTTPMSG_RESPONSE,
	    .result = 1, .consumed_all = 1, .version = -1, .clen = 145,
	    .push_headers = 1, .headers = { "Content-Encoding: gzip\n" },
	    .body_tail = 145, .body_magic = "\x1f\x8b" },
	{ .file = "push_error.http", .kind = HTTPMSG_RESPONSE,
	    .result = 1, .consumed_all = 1, .status = 500,
	    .reason = "Internal Server Error", .version = 0,
	    .clen = (int64_t)sizeof(sample_error) - 1,
	    .header_lines = "Content-Length: 93\nId: " SAMPLE_ID "\n",
	    .body = sample_error },
	{ .file = "push_error_no_length.http", .kind = HTTPMSG_RESPONSE,
	    .eof = 1, .result = 1, .consumed_all = 1, .status = 500,
	    .version = 0, .clen = -1, .body = sample_error },
	{ .file = "push_not_found.http", .kind = HTTPMSG_RESPONSE,
	    .result = 1, .status = 404, .reason = "Not Found", .version = -1,
	    .clen = SAMPLE_ANY, .body = "404 page not found\n" },
	{ .file = "go_poll_request.http", .kind = HTTPMSG_REQUEST,
	    .result = 1, .method = "POST", .target = "/poll", .version = -1,
	    .clen = SAMPLE_ANY, .body = "node1.example" },
	{ .file = "go_poll_request_empty_ctype.http", .kind = HTTPMSG_REQUEST,
	    .result = 1, .version = -1, .clen = SAMPLE_ANY,
	    .headers = { "\nContent-Type: \n" }, .body = "node1.example" },
	/* Only the head: the 206-byte body is missing. */
	{ .file = "go_push_request_head.http", .kind = HTTPMSG_REQUEST,
	    .result = 0, .target = "/push", .version = -1, .clen = 206,
	    .heads = 1 },
	{ .file = "prometheus_scrape_request.http", .kind = HTTPMSG_REQUEST,
	    .result = 1, .target = "http://" SAMPLE_TARGET "/metrics",
	    .version = -1, .clen = SAMPLE_ANY },
	{ .file = "prometheus_scrape_request_proxyauth.http",
	    .kind = HTTPMSG_REQUEST, .result = 1, .version = -1,
	    .clen = SAMPLE_ANY,
	    .headers = { "\nProxy-Authorization: Basic cHJvbTpzZWNyZXQ=\n" } },
};

START_TEST(test_sample)
{
	const struct sample_row *row = &sample_rows[_i];
	struct buf b;
	struct pres r;
	size_t k;

	load_sample(row->file, &b);
	if (row->need_eof) {
		parse_all_ways(row->kind, MAXHEAD, b.data, b.len, 0, &r);
		ck_assert_msg(r.result == 0, "%s: complete without EOF",
		    row->file);
		pres_free(&r);
	}
	parse_all_ways(row->kind, MAXHEAD, b.data, b.len, row->eof, &r);
	ck_assert_msg(r.result == row->result, "%s: result %d (%s)",
	    row->file, r.result, r.err);
	if (row->consumed_all)
		ck_assert_uint_eq(r.consumed, b.len);
	if (row->method != NULL)
		ck_assert_str_eq(r.method, row->method);
	if (row->target != NULL)
		ck_assert_str_eq(r.target, row->target);
	if (row->push_headers) {
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(r.reason, "OK");
		ck_assert_int_eq(r.version, 11);
		ck_assert_ptr_nonnull(strstr(hdr_line(&r),
		    "\nId: " SAMPLE_ID "\n"));
		ck_assert_ptr_nonnull(strstr(hdr_line(&r),
		    "\nX-Prometheus-Scrape-Timeout: 9.87\n"));
		ck_assert_ptr_nonnull(strstr(hdr_line(&r), sample_push_ct));
	}
	if (row->status != 0)
		ck_assert_int_eq(r.status, row->status);
	if (row->reason != NULL)
		ck_assert_str_eq(r.reason, row->reason);
	if (row->version != -1)
		ck_assert_int_eq(r.version, row->version);
	if (row->clen != SAMPLE_ANY)
		ck_assert_int_eq(r.clen, row->clen);
	if (row->chunked)
		ck_assert(r.chunked);
	if (row->close)
		ck_assert(!r.keep_alive);
	if (row->heads != 0)
		ck_assert_int_eq(r.heads, row->heads);
	for (k = 0; k < sizeof(row->headers) / sizeof(row->headers[0]); k++)
		if (row->headers[k] != NULL)
			ck_assert_msg(strstr(hdr_line(&r), row->headers[k]) !=
			    NULL, "%s: no \"%s\" in:\n%s", row->file,
			    row->headers[k], hdr_line(&r));
	if (row->header_lines != NULL)
		ck_assert_str_eq(hdr_line(&r), row->header_lines);
	if (row->body != NULL)
		ck_assert_str_eq(buf_cstr(&r.body), row->body);
	if (row->body_tail != 0) {
		ck_assert_uint_eq(r.body.len, row->body_tail);
		ck_assert_int_eq(memcmp(r.body.data,
		    b.data + b.len - row->body_tail, row->body_tail), 0);
	}
	if (row->body_magic != NULL)
		ck_assert_int_eq(memcmp(r.body.data, row->body_magic,
		    strlen(row->body_magic)), 0);
	pres_free(&r);
	buf_release(&b);
}
END_TEST

/*
 * The poll answer the reference proxy writes (Request.WriteProxy): parsed
 * all ways, and written back byte for byte by httpmsg_write_request_head.
 */
START_TEST(test_sample_poll_answer)
{
	struct buf b, out;
	struct pres r;
	struct httpmsg *m;
	struct httpmsg_header h[16];
	size_t i, n;

	load_sample("go_poll_answer.http", &b);
	parse_all_ways(HTTPMSG_REQUEST, MAXHEAD, b.data, b.len, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, b.len);
	ck_assert_str_eq(r.method, "GET");
	ck_assert_str_eq(r.target, "http://" SAMPLE_TARGET "/metrics");
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_ptr_nonnull(strstr(hdr_line(&r), "\nId: " SAMPLE_ID "\n"));
	ck_assert_ptr_nonnull(strstr(hdr_line(&r),
	    "\nX-Prometheus-Scrape-Timeout-Seconds: 10\n"));
	pres_free(&r);

	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, NULL, NULL);
	ck_assert_int_eq(httpmsg_feed(m, b.data, b.len), (ssize_t)b.len);
	n = httpmsg_header_count(m);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++)
		h[i] = *httpmsg_header_at(m, i);
	buf_init(&out, 4096);
	ck_assert_int_eq(httpmsg_write_request_head(&out, httpmsg_method(m),
	    httpmsg_target(m), h, n), 0);
	ck_assert_uint_eq(out.len, b.len);
	ck_assert_int_eq(memcmp(out.data, b.data, b.len), 0);
	buf_release(&out);
	httpmsg_free(m);
	buf_release(&b);
}
END_TEST

/* The poll answer fixtures of tests/data (plain proxy-form heads). */
START_TEST(test_sample_poll_answer_txt)
{
	static const char *const hop[] = {
		"Connection", "Keep-Alive", "Proxy-Authorization",
		"Proxy-Connection", "Upgrade", "TE",
	};
	static const char *const kept[] = {
		"Host", "User-Agent", "Accept-Encoding", "Id",
		"X-Prometheus-Scrape-Timeout-Seconds",
		"X-Hop",	/* named by Connection: dropped by the policy */
	};
	struct buf b, out;
	struct pres r;
	struct httpmsg *m;
	struct httpmsg_header h[16];
	size_t i, n, k;

	load_sample("poll-answer-reference.txt", &b);
	parse_all_ways(HTTPMSG_REQUEST, MAXHEAD, b.data, b.len, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, b.len);
	ck_assert_str_eq(r.target, "http://node1.example:9100/metrics");
	pres_free(&r);
	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, NULL, NULL);
	ck_assert_int_eq(httpmsg_feed(m, b.data, b.len), (ssize_t)b.len);
	n = httpmsg_header_count(m);
	ck_assert_uint_le(n, 16);
	for (i = 0; i < n; i++)
		h[i] = *httpmsg_header_at(m, i);
	buf_init(&out, 4096);
	ck_assert_int_eq(httpmsg_write_request_head(&out, httpmsg_method(m),
	    httpmsg_target(m), h, n), 0);
	ck_assert_uint_eq(out.len, b.len);
	ck_assert_int_eq(memcmp(out.data, b.data, b.len), 0);
	buf_release(&out);
	httpmsg_free(m);
	buf_release(&b);

	load_sample("poll-answer-https-hop.txt", &b);
	parse_all_ways(HTTPMSG_REQUEST, MAXHEAD, b.data, b.len, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.consumed, b.len);
	ck_assert_str_eq(r.target, "http://node1.example:9100/metrics"
	    "?module=x&_scheme=https&target=y");
	pres_free(&r);
	m = httpmsg_new(HTTPMSG_REQUEST, MAXHEAD, NULL, NULL);
	ck_assert_int_eq(httpmsg_feed(m, b.data, b.len), (ssize_t)b.len);
	ck_assert_str_eq(httpmsg_header(m, "connection"), "keep-alive, X-Hop");
	ck_assert_str_eq(httpmsg_header(m, "te"), "trailers");
	for (k = 0; k < sizeof(hop) / sizeof(hop[0]); k++) {
		ck_assert_ptr_nonnull(httpmsg_header(m, hop[k]));
		ck_assert_msg(!hop_forwards_msg(HOP_POLL_TO_TARGET, m, hop[k]),
		    "%s", hop[k]);
	}
	for (k = 0; k < sizeof(kept) / sizeof(kept[0]); k++) {
		ck_assert_ptr_nonnull(httpmsg_header(m, kept[k]));
	}
	/* The policy (tests/test_hop.c) on this sample's headers. */
	ck_assert(hop_forwards_msg(HOP_POLL_TO_TARGET, m, "User-Agent"));
	ck_assert(hop_forwards_msg(HOP_POLL_TO_TARGET, m, "Accept-Encoding"));
	ck_assert(!hop_forwards_msg(HOP_POLL_TO_TARGET, m, "X-Hop"));
	ck_assert(!hop_forwards_msg(HOP_POLL_TO_TARGET, m, "Host"));
	ck_assert_uint_eq(httpmsg_header_count(m),
	    sizeof(hop) / sizeof(hop[0]) + sizeof(kept) / sizeof(kept[0]));
	httpmsg_free(m);
	buf_release(&b);
}
END_TEST

/* The head of the reference push, rewritten byte for byte. */
START_TEST(test_sample_push_head_rewrite)
{
	struct buf b, out;
	struct httpmsg *m;
	struct httpmsg_header h[16];
	size_t i, n, headlen;

	load_sample("push_content_length.http", &b);
	headlen = (size_t)(strstr(b.data, "\r\n\r\n") - b.data) + 4;
	m = httpmsg_new(HTTPMSG_RESPONSE, MAXHEAD, NULL, NULL);
	ck_assert_int_eq(httpmsg_feed(m, b.data, b.len), (ssize_t)b.len);
	n = httpmsg_header_count(m);
	ck_assert_uint_eq(n, 5);
	for (i = 0; i < n; i++)
		h[i] = *httpmsg_header_at(m, i);
	buf_init(&out, 4096);
	ck_assert_int_eq(httpmsg_write_response_head(&out, httpmsg_status(m),
	    httpmsg_reason(m), h, n), 0);
	ck_assert_uint_eq(out.len, headlen);
	ck_assert_int_eq(memcmp(out.data, b.data, headlen), 0);
	buf_release(&out);
	httpmsg_free(m);
	buf_release(&b);
}
END_TEST

static int pause_calls;

static int
pause_body_cb(struct httpmsg *m, const char *data, size_t len, void *arg)
{
	struct buf *b = arg;

	ck_assert_int_eq(buf_append(b, data, len), 0);
	if (++pause_calls == 1)
		httpmsg_pause(m);
	return 0;
}

/* A pause from a body callback stops the feed right after it. */
START_TEST(test_pause)
{
	static const char msg[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n"
	    "0\r\n\r\n";
	static const struct httpmsg_cbs cbs = { .body_cb = pause_body_cb };
	struct buf b;
	struct httpmsg *m;
	ssize_t n, total;

	buf_init(&b, 64);
	pause_calls = 0;
	m = httpmsg_new(HTTPMSG_REQUEST, 4096, &cbs, &b);
	n = httpmsg_feed(m, msg, sizeof(msg) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (ssize_t)(sizeof(msg) - 1));
	ck_assert_str_eq(buf_cstr(&b), "abc");
	ck_assert(!httpmsg_complete(m));
	total = n;
	n = httpmsg_feed(m, msg + total, sizeof(msg) - 1 - (size_t)total);
	ck_assert_int_eq(total + n, (ssize_t)(sizeof(msg) - 1));
	ck_assert_str_eq(buf_cstr(&b), "abcdefg");
	ck_assert(httpmsg_complete(m));
	httpmsg_free(m);
	buf_release(&b);
}
END_TEST

/* Trailers are dropped; malformed or ambiguous names are refused. */
START_TEST(test_trailers_and_bad_names)
{
	static const char chunked[] = "POST /push HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
	    "X-Trailer: t\r\nId: evil\r\n\r\n";
	static const char spaced[] = "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Proxy-Authorization : Basic eDp5\r\n\r\n";
	static const char te[] = "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding-X: y\r\n\r\n";
	struct httpmsg *m = httpmsg_new(HTTPMSG_REQUEST, 4096, NULL, NULL);

	ck_assert_int_eq(httpmsg_feed(m, chunked, sizeof(chunked) - 1),
	    (ssize_t)(sizeof(chunked) - 1));
	ck_assert(httpmsg_complete(m));
	ck_assert_uint_eq(httpmsg_header_count(m), 2);
	ck_assert_ptr_null(httpmsg_header(m, "Id"));
	ck_assert_str_eq(httpmsg_header(m, "Host"), "h");
	httpmsg_reset(m);
	ck_assert_int_eq(httpmsg_feed(m, spaced, sizeof(spaced) - 1), -1);
	ck_assert_str_eq(httpmsg_error(m), "invalid header name");
	httpmsg_reset(m);
	ck_assert_int_eq(httpmsg_feed(m, te, sizeof(te) - 1), -1);
	ck_assert_ptr_nonnull(strstr(httpmsg_error(m), "Transfer-Encoding"));
	httpmsg_free(m);
}
END_TEST

/* ---- strict framing (common/httpmsg.c's checker) ---- */

#define K_REQ	1
#define K_RESP	2
#define K_BOTH	3

/*
 * One wire form per row.  K_BOTH rows are the part after the start line
 * and are tried behind "POST / HTTP/1.1" and "HTTP/1.1 200 OK"; others
 * are whole messages of that kind.  err NULL: must be accepted.
 */
struct frame_row {
	int		 kinds;
	const char	*wire;
	size_t		 len;
	const char	*err;
};

#define FROW(k, s, e)	{ (k), (s), sizeof(s) - 1, (e) }
#define TE_CHUNKED	"Transfer-Encoding: chunked\r\n\r\n"

static const struct frame_row frame_bad[] = {
	/* The CRLF after chunk data. */
	FROW(K_BOTH, TE_CHUNKED "5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n",
	    "missing CRLF after chunk data"),
	FROW(K_BOTH, TE_CHUNKED "5\r\nhello\n3\r\nabc\r\n0\r\n\r\n",
	    "missing CRLF after chunk data"),
	FROW(K_BOTH, TE_CHUNKED "5\r\nhello\r3\r\nabc\r\n0\r\n\r\n",
	    "missing CRLF after chunk data"),
	FROW(K_BOTH, TE_CHUNKED "5\r\nhello0\r\n\r\n",
	    "missing CRLF after chunk data"),
	/* Chunk-size lines: 1*HEXDIG [ext] CRLF only. */
	FROW(K_BOTH, TE_CHUNKED "0x5\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "5 \r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "5 x\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "5\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "5\r\rhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "-5\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "+5\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED " 5\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	FROW(K_BOTH, TE_CHUNKED "5;a\001b\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk extension"),
	FROW(K_BOTH, TE_CHUNKED "5;a\nhello\r\n0\r\n\r\n",
	    "invalid chunk extension"),
	FROW(K_BOTH, TE_CHUNKED "fffffffffffffffff\r\n",
	    "chunk size too large"),
	/* The trailer section. */
	FROW(K_BOTH, TE_CHUNKED "0\r\nX: y\n\r\n",
	    "bare LF in chunked trailer"),
	FROW(K_BOTH, TE_CHUNKED "0\r\n\n", "bare LF in chunked trailer"),
	FROW(K_BOTH, TE_CHUNKED "0\r\n\rX", "bare CR in chunked trailer"),
	FROW(K_BOTH, TE_CHUNKED "0\r\nX: y\r\n z\r\n\r\n",
	    "obs-fold (folded trailer line)"),
	FROW(K_BOTH, TE_CHUNKED "0\r\nX y\r\n\r\n", "invalid trailer name"),
	FROW(K_BOTH, TE_CHUNKED "0\r\nX: a\001b\r\n\r\n",
	    "control character in trailer value"),
	FROW(K_BOTH, TE_CHUNKED "0\r\nContent-Length: 5\r\n\r\n",
	    "Transfer-Encoding or Content-Length in chunked trailer"),
	FROW(K_BOTH, TE_CHUNKED "0\r\ntransfer-encoding: chunked\r\n\r\n",
	    "Transfer-Encoding or Content-Length in chunked trailer"),
	/* Transfer-Encoding: exactly one, exactly chunked, HTTP/1.1 only. */
	FROW(K_BOTH, "Transfer-Encoding: chunked\r\n" TE_CHUNKED "0\r\n\r\n",
	    "duplicate Transfer-Encoding"),
	FROW(K_BOTH, "Transfer-Encoding: chunked\r\n , chunked\r\n\r\n"
	    "0\r\n\r\n", "obs-fold (folded header line)"),
	FROW(K_BOTH, "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: chunked x\r\n\r\n0\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: identity\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: chunkedx\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: chunk\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: \r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	FROW(K_BOTH, "Content-Length: 5\t\r\n\r\nhello",
	    "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: 5\r\n" TE_CHUNKED "0\r\n\r\n",
	    "Transfer-Encoding with Content-Length"),
	FROW(K_BOTH, "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
	    "0\r\n\r\n", "Transfer-Encoding with Content-Length"),
	FROW(K_BOTH, "Transfer-Encoding-X: y\r\n\r\n",
	    "ambiguous Transfer-Encoding header name"),
	FROW(K_REQ, "POST / HTTP/1.0\r\n" TE_CHUNKED "0\r\n\r\n",
	    "Transfer-Encoding in an HTTP/1.0 message"),
	FROW(K_RESP, "HTTP/1.0 200 OK\r\n" TE_CHUNKED "0\r\n\r\n",
	    "Transfer-Encoding in an HTTP/1.0 message"),
	FROW(K_RESP, "HTTP/0.0 500 Error\r\n" TE_CHUNKED "0\r\n\r\n",
	    "Transfer-Encoding in an HTTP/1.0 message"),
	/* Content-Length: at most one, 1*DIGIT. */
	FROW(K_BOTH, "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	    "duplicate Content-Length"),
	FROW(K_BOTH, "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
	    "duplicate Content-Length"),
	FROW(K_BOTH, "Content-Length: abc\r\n\r\n", "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: +5\r\n\r\nhello",
	    "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: -1\r\n\r\n", "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: 5,5\r\n\r\nhello",
	    "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: 5 5\r\n\r\nhello",
	    "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: 0x5\r\n\r\nhello",
	    "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: \r\n\r\n", "invalid Content-Length"),
	FROW(K_BOTH, "Content-Length: 1234567890123456789\r\n\r\n",
	    "Content-Length too large"),
	/* Line ends, folding, control bytes in field lines. */
	FROW(K_BOTH, "Host: a\n\r\n", "bare LF in message head"),
	FROW(K_BOTH, "Host: a\r\n\n", "bare LF in message head"),
	FROW(K_BOTH, "Host: a\nContent-Length: 5\r\n\r\nhello",
	    "bare LF in message head"),
	FROW(K_BOTH, "Host: a\rb\r\n\r\n", "bare CR in message head"),
	FROW(K_BOTH, "Host: a\r\n\rX", "bare CR in message head"),
	FROW(K_BOTH, "Host: a\r\n b\r\n\r\n", "obs-fold (folded header line)"),
	FROW(K_BOTH, "Host: a\r\n\tb\r\n\r\n",
	    "obs-fold (folded header line)"),
	FROW(K_BOTH, " Host: a\r\n\r\n", "obs-fold (folded header line)"),
	FROW(K_BOTH, "X: a\001b\r\n\r\n", "control character in header value"),
	FROW(K_BOTH, "X: a\033b\r\n\r\n", "control character in header value"),
	FROW(K_BOTH, "X: a\177b\r\n\r\n", "control character in header value"),
	FROW(K_BOTH, "X: a\0b\r\n\r\n", "NUL byte in message head"),
	FROW(K_BOTH, "X\0: a\r\n\r\n", "NUL byte in message head"),
	FROW(K_BOTH, "Host : a\r\n\r\n", "invalid header name"),
	FROW(K_BOTH, "Host\t: a\r\n\r\n", "invalid header name"),
	FROW(K_BOTH, ": a\r\n\r\n", "invalid header name"),
	FROW(K_BOTH, "No colon\r\n\r\n", "invalid header name"),
	FROW(K_BOTH, "X(y): a\r\n\r\n", "invalid header name"),
	/* Request lines. */
	FROW(K_REQ, "GET / HTTP/1.1\n\r\n", "bare LF in message head"),
	FROW(K_REQ, "\nGET / HTTP/1.1\r\n\r\n", "bare LF in message head"),
	FROW(K_REQ, "\rGET / HTTP/1.1\r\n\r\n", "bare CR in message head"),
	FROW(K_REQ, "GET / HTTP/1.1\rX\r\n\r\n", "bare CR in message head"),
	FROW(K_REQ, "GET / HTTP/0.9\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/9.9\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/1.2\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/2.0\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/0.0\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/1.10\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/01.1\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / http/1.1\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/1.1 \r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET / HTTP/1.\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_REQ, "GET /\r\n\r\n", "invalid request line"),
	FROW(K_REQ, "GET\r\n\r\n", "invalid request line"),
	FROW(K_REQ, "GET  / HTTP/1.1\r\n\r\n",
	    "invalid character in request target"),
	FROW(K_REQ, "GET /a\tb HTTP/1.1\r\n\r\n",
	    "invalid character in request target"),
	FROW(K_REQ, "GET /\001 HTTP/1.1\r\n\r\n",
	    "invalid character in request target"),
	FROW(K_REQ, "GET /\377 HTTP/1.1\r\n\r\n",
	    "invalid character in request target"),
	FROW(K_REQ, "GET /\0 HTTP/1.1\r\n\r\n", "NUL byte in message head"),
	FROW(K_REQ, " GET / HTTP/1.1\r\n\r\n", "invalid request method"),
	FROW(K_REQ, "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
	    "obs-fold (folded header line)"),
	/* Status lines. */
	FROW(K_RESP, "HTTP/1.1 200 OK\n\r\n", "bare LF in message head"),
	FROW(K_RESP, "HTTP/1.1 200 OK\r\r\n\r\n", "bare CR in message head"),
	FROW(K_RESP, "HTTP/1.2 200 OK\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_RESP, "HTTP/2.0 200 OK\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_RESP, "HTTP/0.9 200 OK\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_RESP, "HTTP/9.9 200 OK\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	FROW(K_RESP, "HTTP/1.11 200 OK\r\n\r\n", "invalid status line"),
	FROW(K_RESP, "http/1.1 200 OK\r\n\r\n", "invalid status line"),
	FROW(K_RESP, "HTTP/1.1  200 OK\r\n\r\n", "invalid status code"),
	FROW(K_RESP, "HTTP/1.1 20 OK\r\n\r\n", "invalid status code"),
	FROW(K_RESP, "HTTP/1.1 2000 OK\r\n\r\n", "invalid status line"),
	FROW(K_RESP, "HTTP/1.1 200 O\001K\r\n\r\n",
	    "control character in reason phrase"),
	FROW(K_RESP, "HTTP/1.1 200 O\0K\r\n\r\n", "NUL byte in message head"),
};

static const struct frame_row frame_good[] = {
	FROW(K_BOTH, TE_CHUNKED "5;a=b;c=\"d e\"\r\nhello\r\n3 ;x\r\nabc\r\n"
	    "0\r\nX-T: v\r\nY-T:\r\n\r\n", NULL),
	FROW(K_BOTH, "Transfer-Encoding: \t ChUnKeD  \r\n\r\n"
	    "0005\r\nhello\r\n3\r\nabc\r\n0;last\r\n\r\n", NULL),
	FROW(K_BOTH, "transfer-encoding:chunked\r\n\r\n"
	    "2\r\nhe\r\n6\r\nlloabc\r\n0\r\n\r\n", NULL),
	FROW(K_BOTH, "Content-Length: \t 8  \r\n\r\nhelloabc", NULL),
	FROW(K_BOTH, "content-length:8\r\nX: caf\303\251\t!\r\n\r\nhelloabc",
	    NULL),
	FROW(K_REQ, "\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n"
	    "helloabc", NULL),
	FROW(K_REQ, "POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "Content-Length: 8\r\n\r\nhelloabc", NULL),
	FROW(K_REQ, "POST http://h:1/m?a=%20&b HTTP/1.1\r\n"
	    "Content-Length: 8\r\n\r\nhelloabc", NULL),
	FROW(K_RESP, "HTTP/1.0 200 OK\r\n\r\nhelloabc", NULL),
	FROW(K_RESP, "HTTP/0.0 500 Internal Server Error\r\n"
	    "Content-Length: 8\r\n\r\nhelloabc", NULL),
	FROW(K_RESP, "HTTP/1.1 200\r\nContent-Length: 8\r\n\r\nhelloabc",
	    NULL),
	FROW(K_RESP, "HTTP/1.1 200 \r\nContent-Length: 8\r\n\r\nhelloabc",
	    NULL),
	FROW(K_RESP, "HTTP/1.1 200 \303\251t\t\303\251 x\r\n"
	    "Content-Length: 8\r\n\r\nhelloabc", NULL),
};

/* Builds row's message for kind into out. */
static void
frame_row_wire(const struct frame_row *row, int kind, struct buf *out)
{
	buf_init(out, 1 << 16);
	if (row->kinds == K_BOTH)
		ck_assert_int_eq(buf_puts(out, kind == K_REQ ?
		    "POST / HTTP/1.1\r\nHost: h\r\n" : "HTTP/1.1 200 OK\r\n"),
		    0);
	ck_assert_int_eq(buf_append(out, row->wire, row->len), 0);
}

/*
 * Every refused form: refused all at once, split anywhere and byte by
 * byte (parse_all_ways), with the same error, for requests and
 * responses; no message completes and the body never reads "helloabc".
 */
START_TEST(test_strict_framing_refused)
{
	const struct frame_row *row;
	struct pres r;
	struct buf w;
	size_t i;
	int kind;

	for (i = 0; i < sizeof(frame_bad) / sizeof(frame_bad[0]); i++) {
		row = &frame_bad[i];
		for (kind = K_REQ; kind <= K_RESP; kind++) {
			if (!(row->kinds & kind))
				continue;
			frame_row_wire(row, kind, &w);
			parse_all_ways(kind == K_REQ ? HTTPMSG_REQUEST :
			    HTTPMSG_RESPONSE, MAXHEAD, w.data, w.len, 1, &r);
			ck_assert_msg(r.result == -1, "row %zu (%s) accepted",
			    i, kind == K_REQ ? "request" : "response");
			ck_assert_msg(strcmp(r.err, row->err) == 0,
			    "row %zu (%s): error '%s', want '%s'", i,
			    kind == K_REQ ? "request" : "response", r.err,
			    row->err);
			ck_assert_int_eq(r.completes, 0);
			ck_assert_ptr_null(strstr(buf_cstr(&r.body),
			    "helloabc"));
			pres_free(&r);
			buf_release(&w);
		}
	}
}
END_TEST

/* Strict, not stricter: what RFC 9112 allows still parses, any split. */
START_TEST(test_strict_framing_accepted)
{
	const struct frame_row *row;
	struct pres r;
	struct buf w;
	size_t i;
	int kind;

	for (i = 0; i < sizeof(frame_good) / sizeof(frame_good[0]); i++) {
		row = &frame_good[i];
		for (kind = K_REQ; kind <= K_RESP; kind++) {
			if (!(row->kinds & kind))
				continue;
			frame_row_wire(row, kind, &w);
			parse_all_ways(kind == K_REQ ? HTTPMSG_REQUEST :
			    HTTPMSG_RESPONSE, MAXHEAD, w.data, w.len, 1, &r);
			ck_assert_msg(r.result == 1, "row %zu (%s) refused: "
			    "%s", i, kind == K_REQ ? "request" : "response",
			    r.err);
			ck_assert_str_eq(buf_cstr(&r.body), "helloabc");
			ck_assert_uint_eq(r.consumed, w.len);
			pres_free(&r);
			buf_release(&w);
		}
	}
}
END_TEST

/*
 * A pause in chunk data before bad framing: the error comes on the feed
 * that reaches the bad byte, not before; a bulk chunk is one body call.
 */
START_TEST(test_strict_framing_pause_and_bulk)
{
	static const char bad[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefgXX"
	    "0\r\n\r\n";
	static const struct httpmsg_cbs cbs = { .body_cb = pause_body_cb };
	struct buf b, big;
	struct httpmsg *m;
	struct pres r;
	ssize_t n;
	size_t i;

	buf_init(&b, 64);
	pause_calls = 0;
	m = httpmsg_new(HTTPMSG_REQUEST, 4096, &cbs, &b);
	n = httpmsg_feed(m, bad, sizeof(bad) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	ck_assert_int_eq(httpmsg_feed(m, bad + n, sizeof(bad) - 1 -
	    (size_t)n), -1);
	ck_assert_str_eq(httpmsg_error(m), "missing CRLF after chunk data");
	ck_assert_str_eq(buf_cstr(&b), "abcdefg");
	ck_assert(!httpmsg_complete(m));
	httpmsg_free(m);
	buf_release(&b);

	/* 1 MiB in one chunk, fed at once: one body callback. */
	buf_init(&big, 2 << 20);
	ck_assert_int_eq(buf_puts(&big, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n100000\r\n"), 0);
	for (i = 0; i < (1u << 20); i++)
		ck_assert_int_eq(buf_append(&big, "x", 1), 0);
	ck_assert_int_eq(buf_puts(&big, "\r\n0\r\n\r\n"), 0);
	parse_pieces(HTTPMSG_RESPONSE, MAXHEAD, big.data, big.len, big.len,
	    0, 0, &r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_uint_eq(r.body.len, 1u << 20);
	ck_assert_int_eq(r.body_calls, 1);
	pres_free(&r);
	buf_release(&big);
}
END_TEST

/* Pipelined messages each get a fresh checker; bad framing in the second. */
START_TEST(test_strict_framing_pipelined)
{
	static const char two[] = "POST / HTTP/1.1\r\n" TE_CHUNKED
	    "3\r\nabc\r\n0\r\nT: 1\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: a\n\r\n";
	struct httpmsg *m = httpmsg_new(HTTPMSG_REQUEST, 4096, NULL, NULL);
	ssize_t n;

	n = httpmsg_feed(m, two, sizeof(two) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert(httpmsg_complete(m));
	ck_assert_str_eq(two + n, "GET / HTTP/1.1\r\nHost: a\n\r\n");
	httpmsg_reset(m);
	ck_assert_int_eq(httpmsg_feed(m, two + n, sizeof(two) - 1 -
	    (size_t)n), -1);
	ck_assert_str_eq(httpmsg_error(m), "bare LF in message head");
	httpmsg_free(m);
}
END_TEST

/* Chunk-size lines and trailer sections are capped like a head. */
START_TEST(test_strict_framing_caps)
{
	struct buf w;
	struct pres r;
	size_t i;

	buf_init(&w, 1 << 16);
	ck_assert_int_eq(buf_puts(&w, "POST / HTTP/1.1\r\n" TE_CHUNKED), 0);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(buf_append(&w, "0", 1), 0);
	ck_assert_int_eq(buf_puts(&w, "5\r\nhello\r\n0\r\n\r\n"), 0);
	parse_all_ways(HTTPMSG_REQUEST, 256, w.data, w.len, 1, &r);
	ck_assert_str_eq(r.err, "chunk size line too long");
	pres_free(&r);
	buf_reset(&w);
	ck_assert_int_eq(buf_puts(&w, "POST / HTTP/1.1\r\n" TE_CHUNKED
	    "0\r\n"), 0);
	for (i = 0; i < 30; i++)
		ck_assert_int_eq(buf_puts(&w, "X-Trailer: 0123456789\r\n"), 0);
	ck_assert_int_eq(buf_puts(&w, "\r\n"), 0);
	parse_all_ways(HTTPMSG_REQUEST, 256, w.data, w.len, 1, &r);
	ck_assert_str_eq(r.err, "chunked trailer too large");
	pres_free(&r);
	buf_release(&w);
}
END_TEST

Suite *
httpmsg_suite(void)
{
	Suite *s = suite_create("httpmsg");
	TCase *tc = tcase_create("parse");
	TCase *tl = tcase_create("limits");
	TCase *tw = tcase_create("write");
	TCase *td = tcase_create("samples");
	TCase *ts = tcase_create("strict");

	tcase_add_test(tc, test_request_simple);
	tcase_add_test(tc, test_trailers_and_bad_names);
	tcase_add_test(tc, test_pause);
	tcase_add_test(tc, test_request_proxy_form);
	tcase_add_test(tc, test_request_content_length_body);
	tcase_add_test(tc, test_request_chunked_body);
	tcase_add_test(tc, test_request_incomplete_without_eof);
	tcase_add_test(tc, test_header_lookup_case_and_empty);
	tcase_add_test(tc, test_empty_header_values_all_ways);
	tcase_add_test(tc, test_keep_alive_rules);
	tcase_add_test(tc, test_response_content_length);
	tcase_add_test(tc, test_response_chunked);
	tcase_add_test(tc, test_response_eof_delimited);
	tcase_add_test(tc, test_response_eof_empty_body);
	tcase_add_test(tc, test_response_http00_error);
	tcase_add_test(tc, test_response_no_body_statuses);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_eof_states);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_pipelined_chunked_then_response_reuse);
	suite_add_tcase(s, tc);

	tcase_add_test(tl, test_malformed);
	tcase_add_test(tl, test_error_is_sticky);
	tcase_add_test(tl, test_connect_and_upgrade_rejected);
	tcase_add_test(tl, test_head_too_large);
	tcase_add_test(tl, test_head_too_large_padding);
	tcase_add_test(tl, test_too_many_headers);
	tcase_add_test(tl, test_callback_rejects);
	suite_add_tcase(s, tl);

	tcase_add_test(tw, test_write_request_head);
	tcase_add_test(tw, test_write_response_head);
	tcase_add_test(tw, test_write_refuses_injection);
	tcase_add_test(tw, test_write_full_buffer);
	tcase_add_test(tw, test_write_parse_roundtrip);
	tcase_add_test(tw, test_reason_phrases);
	suite_add_tcase(s, tw);

	tcase_add_loop_test(td, test_sample, 0,
	    (int)(sizeof(sample_rows) / sizeof(sample_rows[0])));
	tcase_add_test(td, test_sample_poll_answer);
	tcase_add_test(td, test_sample_poll_answer_txt);
	tcase_add_test(td, test_sample_push_head_rewrite);
	suite_add_tcase(s, td);
	tcase_add_test(ts, test_strict_framing_refused);
	tcase_add_test(ts, test_strict_framing_accepted);
	tcase_add_test(ts, test_strict_framing_pause_and_bulk);
	tcase_add_test(ts, test_strict_framing_pipelined);
	tcase_add_test(ts, test_strict_framing_caps);
	suite_add_tcase(s, ts);
	return s;
}
