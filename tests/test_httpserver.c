/*
 * Unit tests for the HTTP/1.1 server (common/httpserver.c): a real server
 * on 127.0.0.1, port 0, driven from the test with non-blocking sockets
 * while the event loop runs in bounded steps.  Every wait has a deadline.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "httpmsg.h"
#include "httpreq.h"
#include "httpserver.h"
#include "pushprox_limits.h"
#include "log.h"
#include "testlog.h"

#define WAIT_MS		5000	/* the bound on every wait */
#define MAX_CLIS	8
/* Larger than loopback socket buffers, so some of it must queue. */
#define BIG_REPLY	(16 << 20)

/* One test connection: what it received, and a parser over it. */
struct cli {
	int		 fd;
	int		 eof;		/* peer closed (or reset) */
	int		 reset;
	struct buf	 raw;		/* every byte received */
	size_t		 used;		/* raw bytes parsed so far */
	size_t		 resp_off;	/* where the last response began */
	struct httpmsg	*m;
	struct buf	 body;		/* last response's body, decoded */
};

/* The server under test and what its handler saw. */
struct tstate {
	struct event_base	*base;
	struct httpserver	*srv;
	FILE			*devnull;
	int			 port;
	struct cli		 cli[MAX_CLIS];
	/* handler observations */
	int			 nreq;
	char			 method[16];
	char			 target[256];
	char			 peer[64];
	int			 bad_header_rc;
	struct httpreq		*parked;
	int			 aborted;
	char			 abort_why[128];
	int64_t			 abort_at_ms;
	struct buf		 body;		/* streamed body bytes */
	int			 body_cbs;
	int			 body_cbs_after_pause;
	int			 paused;
	int			 body_done;
	int			 statuses[32];
	int			 nstatuses;
	size_t			 big_sent;
	int			 drains;
	int			 sent_calls;
	int			 sent_ok;
	struct event		*watchdog;
	int			 watchdog_fired;
};

static struct tstate T;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the handler ---- */

static void
on_abort(struct httpreq *req, const char *why, void *arg)
{
	ck_assert_ptr_eq(arg, &T);
	T.aborted++;
	T.abort_at_ms = now_ms();
	snprintf(T.abort_why, sizeof(T.abort_why), "%s", why);
	if (req == T.parked)
		T.parked = NULL;
}

static void
echo_done(struct httpreq *req, void *arg)
{
	const struct buf *b = httpreq_body(req);

	T.body_done++;
	httpreq_reply(req, 200, "application/octet-stream", buf_cstr(b),
	    b->len);
}

static void
stream_cb(struct httpreq *req, const char *data, size_t len, void *arg)
{
	ck_assert_uint_gt(len, 0);
	T.body_cbs++;
	if (T.paused)
		T.body_cbs_after_pause++;
	ck_assert_int_eq(buf_append(&T.body, data, len), 0);
}

static void
pause_cb(struct httpreq *req, const char *data, size_t len, void *arg)
{
	stream_cb(req, data, len, arg);
	if (T.body_cbs == 1) {
		T.paused = 1;
		T.parked = req;
		httpreq_pause_body(req);
	}
}

static void
stream_done(struct httpreq *req, void *arg)
{
	char n[32];

	T.body_done++;
	if (req == T.parked)
		T.parked = NULL;
	snprintf(n, sizeof(n), "%zu", T.body.len);
	httpreq_reply(req, 200, "text/plain", n, strlen(n));
}

static void
big_fill(struct httpreq *req)
{
	char chunk[16384];
	size_t i, n;

	while (T.big_sent < BIG_REPLY &&
	    httpreq_reply_queued(req) < LIMIT_RELAY_HIGH_WATER) {
		n = sizeof(chunk);
		if (n > BIG_REPLY - T.big_sent)
			n = BIG_REPLY - T.big_sent;
		for (i = 0; i < n; i++)
			chunk[i] = (char)('a' + (T.big_sent + i) % 23);
		ck_assert_int_eq(httpreq_reply_write(req, chunk, n), 0);
		T.big_sent += n;
	}
	if (T.big_sent == BIG_REPLY) {
		T.parked = NULL;
		httpreq_reply_end(req);
	}
}

static void
big_drain(struct httpreq *req, void *arg)
{
	T.drains++;
	big_fill(req);
}

static void
on_sent(int ok, void *arg)
{
	ck_assert_ptr_eq(arg, &T);
	T.sent_calls++;
	T.sent_ok = ok;
}

static void
reply_hook(struct httpreq *req, int status, void *arg)
{
	ck_assert_ptr_eq(arg, &T);
	if (T.nstatuses < 32)
		T.statuses[T.nstatuses++] = status;
}

static void
handler(struct httpreq *req, void *arg)
{
	const char *t = httpreq_target(req);

	ck_assert_ptr_eq(arg, &T);
	T.nreq++;
	snprintf(T.method, sizeof(T.method), "%s", httpreq_method(req));
	snprintf(T.target, sizeof(T.target), "%s", t);
	snprintf(T.peer, sizeof(T.peer), "%s", httpreq_peer(req));
	ck_assert_ptr_nonnull(httpreq_msg(req));
	ck_assert(httpreq_elapsed(req) >= 0 && httpreq_elapsed(req) < 5);
	if (strcmp(t, "/hello") == 0 || strcmp(t, "/early") == 0) {
		T.bad_header_rc = httpreq_add_header(req, "X-Bad",
		    "a\r\nX-Injected: 1");
		ck_assert_int_eq(httpreq_add_header(req, "X-Test", "yes"), 0);
		httpreq_reply(req, 200, "text/plain", "hello", 5);
	} else if (strcmp(t, "/echo") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		httpreq_read_body(req, 16, echo_done, &T);
	} else if (strcmp(t, "/stream") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		httpreq_stream_body(req, stream_cb, stream_done, &T);
	} else if (strcmp(t, "/pause") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		httpreq_stream_body(req, pause_cb, stream_done, &T);
	} else if (strcmp(t, "/park") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		T.parked = req;
	} else if (strcmp(t, "/chunked") == 0) {
		httpreq_reply_start(req, 200, NULL, -1);
		ck_assert_int_eq(httpreq_reply_write(req, "abc", 3), 0);
		ck_assert_int_eq(httpreq_reply_write(req, "", 0), 0);
		ck_assert_int_eq(httpreq_reply_write(req, "defgh", 5), 0);
		httpreq_reply_end(req);
	} else if (strcmp(t, "/cl") == 0) {
		httpreq_reply_start(req, 201, "Made", 10);
		ck_assert_int_eq(httpreq_reply_write(req, "01234", 5), 0);
		ck_assert_int_eq(httpreq_reply_write(req, "56789", 5), 0);
		httpreq_reply_end(req);
	} else if (strcmp(t, "/streampark") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		httpreq_reply_start(req, 200, NULL, -1);
		ck_assert_int_eq(httpreq_reply_write(req, "first", 5), 0);
		T.parked = req;
	} else if (strcmp(t, "/big") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		httpreq_reply_start(req, 200, NULL, BIG_REPLY);
		httpreq_set_drain_cb(req, big_drain, &T);
		T.parked = req;
		big_fill(req);
	} else if (strcmp(t, "/sent") == 0) {
		httpreq_set_sent_cb(req, on_sent, &T);
		httpreq_reply(req, 200, "text/plain", "sent", 4);
	} else if (strcmp(t, "/parksent") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		httpreq_set_sent_cb(req, on_sent, &T);
		T.parked = req;
	} else if (strcmp(t, "/quarter") == 0) {
		static char quarter[LIMIT_RELAY_HIGH_WATER];

		memset(quarter, 'q', sizeof(quarter));
		httpreq_reply(req, 200, "text/plain", quarter, sizeof(quarter));
	} else if (strcmp(t, "/abort") == 0) {
		httpreq_set_abort_cb(req, on_abort, &T);
		httpreq_abort(req, "handler gave up");
	} else
		httpreq_reply_text(req, 404, "not found");
}

/* ---- the test's side ---- */

static void
start_server(const struct httpserver_config *cfg)
{
	if (T.srv != NULL)
		httpserver_free(T.srv);
	T.srv = httpserver_new(T.base, cfg, handler, &T);
	ck_assert_ptr_nonnull(T.srv);
	httpserver_set_reply_cb(T.srv, reply_hook);
	ck_assert_int_eq(httpserver_port(T.srv), -1);
	ck_assert_int_eq(httpserver_listen(T.srv, "127.0.0.1:0"), 0);
	T.port = httpserver_port(T.srv);
	ck_assert_int_gt(T.port, 0);
	ck_assert_uint_eq(httpserver_connections(T.srv), 0);
}

static const struct httpserver_config default_cfg = {
	.max_connections = 16,
	.max_header_bytes = 4096,
	.idle_timeout_ms = 5000,
	.read_timeout_ms = 5000,
	.write_timeout_ms = 5000,
};

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	T.watchdog_fired = 1;
	event_base_loopbreak(T.base);
}

static void
setup(void)
{
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	memset(&T, 0, sizeof(T));
	/* Debug logging exercised, but kept out of the test output. */
	T.devnull = fopen("/dev/null", "w");
	ck_assert_ptr_nonnull(T.devnull);
	log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_LOGFMT, T.devnull);
	for (i = 0; i < MAX_CLIS; i++)
		T.cli[i].fd = -1;
	buf_init(&T.body, 8 << 20);
	T.base = event_base_new();
	ck_assert_ptr_nonnull(T.base);
	T.watchdog = evtimer_new(T.base, watchdog_cb, NULL);
	ck_assert_ptr_nonnull(T.watchdog);
	start_server(&default_cfg);
}

static void
cli_release(struct cli *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	httpmsg_free(c->m);
	c->m = NULL;
	buf_release(&c->raw);
	buf_release(&c->body);
}

static void
teardown(void)
{
	size_t i;

	httpserver_free(T.srv);
	T.srv = NULL;
	for (i = 0; i < MAX_CLIS; i++)
		cli_release(&T.cli[i]);
	event_free(T.watchdog);
	event_base_free(T.base);
	buf_release(&T.body);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, NULL);
	fclose(T.devnull);
}

static int
cli_body_cb(struct httpmsg *m, const char *data, size_t len, void *arg)
{
	struct cli *c = arg;

	return buf_append(&c->body, data, len);
}

static const struct httpmsg_cbs cli_cbs = {
	.body_cb = cli_body_cb,
};

static struct cli *
cli_open(void)
{
	struct sockaddr_in sin;
	struct cli *c = NULL;
	size_t i;

	for (i = 0; i < MAX_CLIS; i++)
		if (T.cli[i].fd == -1 && T.cli[i].m == NULL) {
			c = &T.cli[i];
			break;
		}
	ck_assert_ptr_nonnull(c);
	memset(c, 0, sizeof(*c));
	buf_init(&c->raw, 32 << 20);
	buf_init(&c->body, 32 << 20);
	c->m = httpmsg_new(HTTPMSG_RESPONSE, 64 * 1024, &cli_cbs, c);
	ck_assert_ptr_nonnull(c->m);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c->fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)T.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The kernel completes the handshake before the server accepts. */
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_eq(fcntl(c->fd, F_SETFL,
	    fcntl(c->fd, F_GETFL) | O_NONBLOCK), 0);
	return c;
}

/* Closes the test's end of the connection (the parse state stays). */
static void
cli_close(struct cli *c)
{
	ck_assert_int_ne(c->fd, -1);
	close(c->fd);
	c->fd = -1;
}

static void
cli_drain(struct cli *c)
{
	char tmp[65536];
	ssize_t n;

	while (c->fd != -1 && !c->eof) {
		n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n > 0) {
			ck_assert_int_eq(buf_append(&c->raw, tmp, (size_t)n),
			    0);
			continue;
		}
		if (n == 0)
			c->eof = 1;
		else if (errno == ECONNRESET) {
			c->eof = 1;
			c->reset = 1;
		} else
			ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR, "recv: %s", strerror(errno));
		break;
	}
}

/*
 * One bounded step: run ready server events, collect client bytes.  A
 * non-blocking loop pass returns at once unless callbacks keep making
 * themselves active again; a watchdog timer breaks such a busy loop.
 */
static void
pump(void)
{
	struct pollfd pfd[MAX_CLIS];
	struct timeval tv = { 0, 500 * 1000 };
	nfds_t n = 0;
	size_t i;

	T.watchdog_fired = 0;
	evtimer_add(T.watchdog, &tv);
	event_base_loop(T.base, EVLOOP_NONBLOCK);
	evtimer_del(T.watchdog);
	ck_assert_msg(!T.watchdog_fired, "event_base_loop(EVLOOP_NONBLOCK) "
	    "did not return for 500 ms: the server is busy-looping");
	for (i = 0; i < MAX_CLIS; i++) {
		cli_drain(&T.cli[i]);
		if (T.cli[i].fd != -1 && !T.cli[i].eof) {
			pfd[n].fd = T.cli[i].fd;
			pfd[n].events = POLLIN;
			n++;
		}
	}
	(void)poll(pfd, n, 1);
}

/* Pumps until cond holds or ms pass; ok says which. */
#define WAIT_UNTIL(cond, ms, ok) do {					\
	int64_t wu_deadline_ = now_ms() + (ms);				\
	(ok) = 0;							\
	for (;;) {							\
		if (cond) {						\
			(ok) = 1;					\
			break;						\
		}							\
		if (now_ms() > wu_deadline_)				\
			break;						\
		pump();							\
	}								\
} while (0)

#define ASSERT_WAIT(cond) do {						\
	int aw_ok_;							\
	WAIT_UNTIL(cond, WAIT_MS, aw_ok_);				\
	ck_assert_msg(aw_ok_, "timed out waiting for: %s", #cond);	\
} while (0)

/* Pumps for ms, whatever happens. */
static void
pump_for(int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end)
		pump();
}

static void
cli_send(struct cli *c, const void *data, size_t len)
{
	const char *p = data;
	int64_t deadline = now_ms() + WAIT_MS;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		ck_assert_msg(n == -1 && (errno == EAGAIN ||
		    errno == EWOULDBLOCK || errno == EINTR), "send: %s",
		    strerror(errno));
		ck_assert_msg(now_ms() < deadline, "send timed out");
		pump();
	}
}

static void
cli_sends(struct cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

/* Feeds received bytes to the parser; 1 once a response is complete. */
static int
cli_parse(struct cli *c)
{
	ssize_t n;

	if (httpmsg_complete(c->m))
		return 1;
	if (c->used < c->raw.len) {
		n = httpmsg_feed(c->m, c->raw.data + c->used,
		    c->raw.len - c->used);
		ck_assert_msg(n >= 0, "bad response: %s",
		    httpmsg_error(c->m));
		c->used += (size_t)n;
	}
	if (!httpmsg_complete(c->m) && c->eof && c->used == c->raw.len &&
	    httpmsg_head_done(c->m))
		(void)httpmsg_feed_eof(c->m);
	return httpmsg_complete(c->m);
}

/* Waits for the next complete response; returns its status. */
static int
cli_response(struct cli *c)
{
	int ok;

	httpmsg_reset(c->m);
	buf_reset(&c->body);
	c->resp_off = c->used;
	WAIT_UNTIL(cli_parse(c) || (c->eof && c->used == c->raw.len &&
	    !httpmsg_complete(c->m)), WAIT_MS, ok);
	ck_assert_msg(ok, "no response within %d ms (got %zu bytes)",
	    WAIT_MS, c->raw.len - c->resp_off);
	ck_assert_msg(httpmsg_complete(c->m),
	    "connection closed before a complete response (%zu bytes: %.*s)",
	    c->raw.len - c->resp_off, (int)(c->raw.len - c->resp_off),
	    c->raw.data != NULL ? c->raw.data + c->resp_off : "");
	return httpmsg_status(c->m);
}

static const char *
cli_header(struct cli *c, const char *name)
{
	return httpmsg_header(c->m, name);
}

static void
cli_expect_closed(struct cli *c)
{
	ASSERT_WAIT(c->eof);
	ck_assert_uint_eq(c->used, c->raw.len);	/* nothing after the reply */
}

/* ---- basic requests ---- */

START_TEST(test_get_keepalive)
{
	struct cli *c = cli_open();

	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_int_eq(memcmp(c->raw.data + c->resp_off,
	    "HTTP/1.1 200 OK\r\n", 17), 0);
	ck_assert_str_eq(buf_cstr(&c->body), "hello");
	ck_assert_str_eq(cli_header(c, "Content-Length"), "5");
	ck_assert_str_eq(cli_header(c, "Content-Type"), "text/plain");
	ck_assert_str_eq(cli_header(c, "X-Test"), "yes");
	ck_assert_ptr_null(cli_header(c, "X-Bad"));
	ck_assert_ptr_null(cli_header(c, "X-Injected"));
	ck_assert_ptr_null(cli_header(c, "Connection"));
	ck_assert_ptr_null(cli_header(c, "Transfer-Encoding"));
	ck_assert_int_eq(T.bad_header_rc, -1);
	ck_assert_str_eq(T.method, "GET");
	ck_assert_str_eq(T.target, "/hello");
	ck_assert_int_eq(strncmp(T.peer, "127.0.0.1:", 10), 0);

	/* Same connection, second request. */
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello");
	ck_assert_int_eq(T.nreq, 2);
	ck_assert_uint_eq(httpserver_connections(T.srv), 1);
	ck_assert(!c->eof);
	ck_assert_int_eq(T.nstatuses, 2);
	ck_assert_int_eq(T.statuses[0], 200);
	ck_assert_int_eq(T.statuses[1], 200);

	/* Unknown path: the handler's 404 text. */
	cli_sends(c, "GET /nope HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 404);
	ck_assert_str_eq(buf_cstr(&c->body), "not found\n");
	ck_assert_str_eq(cli_header(c, "Content-Type"),
	    "text/plain; charset=utf-8");
	ck_assert_uint_eq(httpserver_connections(T.srv), 1);
}
END_TEST

START_TEST(test_pipelined_requests)
{
	struct cli *c = cli_open();

	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n"
	    "GET /cl HTTP/1.1\r\n\r\n"
	    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
	    "GET /chunked HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello");
	ck_assert_int_eq(cli_response(c), 201);
	ck_assert_str_eq(buf_cstr(&c->body), "0123456789");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "xyz");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "abcdefgh");
	ck_assert_int_eq(T.nreq, 4);
	ck_assert(!c->eof);
}
END_TEST

START_TEST(test_connection_close_and_http10)
{
	struct cli *c = cli_open();

	cli_sends(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(cli_header(c, "Connection"), "close");
	cli_expect_closed(c);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);

	c = cli_open();
	cli_sends(c, "GET /hello HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello");
	cli_expect_closed(c);

	/* A streamed reply of unknown length to HTTP/1.0: close-delimited. */
	c = cli_open();
	cli_sends(c, "GET /chunked HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_ptr_null(cli_header(c, "Transfer-Encoding"));
	ck_assert_ptr_null(cli_header(c, "Content-Length"));
	ck_assert_str_eq(cli_header(c, "Connection"), "close");
	ck_assert_str_eq(buf_cstr(&c->body), "abcdefgh");
	ck_assert(c->eof);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);
}
END_TEST

/* ---- request bodies ---- */

START_TEST(test_read_body)
{
	struct cli *c = cli_open();

	cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 11\r\n\r\n"
	    "hello world");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello world");
	ck_assert_str_eq(cli_header(c, "Content-Length"), "11");

	/* Chunked, and split over several sends. */
	cli_sends(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n");
	pump_for(5);
	cli_sends(c, "\r\n5\r\nhel");
	pump_for(5);
	cli_sends(c, "lo\r\n6\r\n world\r\n0\r\n");
	pump_for(5);
	ck_assert_int_eq(T.body_done, 1);	/* not yet complete */
	cli_sends(c, "\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello world");
	ck_assert_int_eq(T.body_done, 2);

	/* Exactly the cap fits; empty works. */
	cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 16\r\n\r\n"
	    "0123456789abcdef");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "0123456789abcdef");
	cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_uint_eq(c->body.len, 0);
	ck_assert_int_eq(T.aborted, 0);
	ck_assert(!c->eof);
	ck_assert_uint_eq(httpserver_connections(T.srv), 1);
}
END_TEST

START_TEST(test_read_body_too_large)
{
	struct cli *c = cli_open();

	test_expect_log(LOG_LEVEL_WARN, "request body too large");
	cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 17\r\n\r\n"
	    "0123456789abcdefg");
	ck_assert_int_eq(cli_response(c), 413);
	ck_assert_int_eq(T.aborted, 1);
	ck_assert_ptr_nonnull(strstr(T.abort_why, "too large"));
	ck_assert_int_eq(T.body_done, 0);
	ck_assert_str_eq(cli_header(c, "Connection"), "close");
	cli_expect_closed(c);
	ck_assert_int_eq(T.nstatuses, 1);
	ck_assert_int_eq(T.statuses[0], 413);

	/* Chunked, over the cap. */
	c = cli_open();
	cli_sends(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 413);
	ck_assert_int_eq(T.aborted, 2);
	cli_expect_closed(c);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);
}
END_TEST

/* A large body the client is still sending when the 413 goes out. */
START_TEST(test_read_body_too_large_big)
{
	struct cli *c = cli_open();
	char chunk[4096];
	size_t sent = 0, total = 4 << 20;
	ssize_t n;
	int64_t deadline = now_ms() + WAIT_MS;

	memset(chunk, 'x', sizeof(chunk));
	test_expect_log(LOG_LEVEL_WARN, "request body too large");
	snprintf(chunk, sizeof(chunk),
	    "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", total);
	cli_sends(c, chunk);
	memset(chunk, 'x', sizeof(chunk));
	/* Send until the server stops taking bytes (it has answered). */
	while (sent < total && now_ms() < deadline && !c->eof) {
		n = send(c->fd, chunk, sizeof(chunk),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			sent += (size_t)n;
		else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			pump();
		else
			break;
		if (T.aborted)
			break;
	}
	ck_assert_int_eq(cli_response(c), 413);
	ck_assert_int_eq(T.aborted, 1);
	cli_expect_closed(c);
}
END_TEST

static void
fill_pattern(char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
}

START_TEST(test_stream_body)
{
	enum { N = 300000 };
	struct cli *c = cli_open();
	char head[128], *data = malloc(N);
	size_t off, n;

	ck_assert_ptr_nonnull(data);
	fill_pattern(data, N, 7);
	snprintf(head, sizeof(head),
	    "POST /stream HTTP/1.1\r\nContent-Length: %d\r\n\r\n", N);
	cli_sends(c, head);
	cli_send(c, data, N);
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_int_eq(T.body_done, 1);
	ck_assert_uint_eq(T.body.len, N);
	ck_assert_int_eq(memcmp(T.body.data, data, N), 0);
	ck_assert_str_eq(buf_cstr(&c->body), "300000");
	ck_assert_int_gt(T.body_cbs, 1);

	/* Chunked, chunks of varying sizes, on the same connection. */
	buf_reset(&T.body);
	cli_sends(c, "POST /stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n");
	for (off = 0, n = 1; off < N; off += n, n = n * 3 + 1) {
		if (n > N - off)
			n = N - off;
		snprintf(head, sizeof(head), "%zx\r\n", n);
		cli_sends(c, head);
		cli_send(c, data + off, n);
		cli_sends(c, "\r\n");
	}
	cli_sends(c, "0\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_int_eq(T.body_done, 2);
	ck_assert_uint_eq(T.body.len, N);
	ck_assert_int_eq(memcmp(T.body.data, data, N), 0);
	ck_assert_int_eq(T.aborted, 0);
	free(data);
}
END_TEST

/* Back-pressure: no body bytes while paused; all of them after. */
START_TEST(test_stream_body_pause)
{
	enum { HALF = 10000 };
	struct cli *c = cli_open();
	char head[128], *data = malloc(2 * HALF);
	int cbs;

	ck_assert_ptr_nonnull(data);
	fill_pattern(data, 2 * HALF, 5);
	snprintf(head, sizeof(head),
	    "POST /pause HTTP/1.1\r\nContent-Length: %d\r\n\r\n", 2 * HALF);
	cli_sends(c, head);
	cli_send(c, data, HALF);
	ASSERT_WAIT(T.paused);
	pump_for(20);
	cbs = T.body_cbs;
	/* Bytes arriving while paused are not handed over. */
	cli_send(c, data + HALF, HALF);
	pump_for(50);
	ck_assert_int_eq(T.body_cbs, cbs);
	ck_assert_int_eq(T.body_cbs_after_pause, 0);
	ck_assert_int_eq(T.body_done, 0);
	ck_assert_uint_le(T.body.len, HALF);
	ck_assert_ptr_nonnull(T.parked);
	/* Resumed: the rest arrives, in order. */
	T.paused = 0;
	httpreq_resume_body(T.parked);
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_int_gt(T.body_cbs, cbs);
	ck_assert_uint_eq(T.body.len, 2 * HALF);
	ck_assert_int_eq(memcmp(T.body.data, data, 2 * HALF), 0);
	free(data);
}
END_TEST

/*
 * A paused body while the peer goes on sending more than one read chunk
 * (LIMIT_READ_CHUNK): the server must wait quietly, not spin.
 */
START_TEST(test_stream_body_pause_big)
{
	enum { N = 200000 };
	struct cli *c = cli_open();
	char head[128], *data = malloc(N);
	size_t sent = 0;
	ssize_t n;
	int64_t deadline = now_ms() + WAIT_MS;

	ck_assert_ptr_nonnull(data);
	fill_pattern(data, N, 11);
	snprintf(head, sizeof(head),
	    "POST /pause HTTP/1.1\r\nContent-Length: %d\r\n\r\n", N);
	cli_sends(c, head);
	/* Send what the sockets take while the server does not read on. */
	while (sent < N && now_ms() < deadline) {
		n = send(c->fd, data + sent, N - sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			sent += (size_t)n;
		else
			ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK,
			    "send: %s", strerror(errno));
		pump();
		if (n <= 0 && T.paused)
			break;
	}
	ASSERT_WAIT(T.paused);
	pump_for(100);
	ck_assert_int_eq(T.body_cbs_after_pause, 0);
	ck_assert_int_eq(T.body_done, 0);
	ck_assert_uint_lt(T.body.len, N);
	ck_assert_ptr_nonnull(T.parked);
	T.paused = 0;
	httpreq_resume_body(T.parked);
	cli_send(c, data + sent, N - sent);
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_uint_eq(T.body.len, N);
	ck_assert_int_eq(memcmp(T.body.data, data, N), 0);
	free(data);
}
END_TEST

/* A chunked body paused mid-buffer: the pause holds from the next chunk. */
START_TEST(test_stream_body_pause_chunked)
{
	struct cli *c = cli_open();
	int cbs;

	/*
	 * The pause takes effect once the bytes already being parsed are
	 * done (here the first three chunks may all be delivered); what
	 * arrives after it waits for the resume.
	 */
	cli_sends(c, "POST /pause HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n3\r\ndef\r\n3\r\nghi\r\n");
	ASSERT_WAIT(T.paused);
	pump_for(20);
	cbs = T.body_cbs;
	ck_assert_int_le(cbs, 3);
	cli_sends(c, "3\r\njkl\r\n0\r\n\r\n");
	pump_for(50);
	ck_assert_int_eq(T.body_cbs, cbs);
	ck_assert_ptr_null(strstr(buf_cstr(&T.body), "jkl"));
	ck_assert_int_eq(T.body_done, 0);
	T.paused = 0;
	httpreq_resume_body(T.parked);
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&T.body), "abcdefghijkl");
}
END_TEST

/* ---- parked requests ---- */

START_TEST(test_parked_peer_close_aborts)
{
	struct cli *c = cli_open();
	int64_t closed_at;

	cli_sends(c, "POST /park HTTP/1.1\r\nContent-Length: 5\r\n\r\nnode1");
	ASSERT_WAIT(T.parked != NULL);
	pump_for(20);
	ck_assert_int_eq(T.aborted, 0);
	ck_assert_uint_eq(httpserver_connections(T.srv), 1);
	ck_assert_uint_eq(c->raw.len, 0);	/* nothing written to it */
	closed_at = now_ms();
	cli_close(c);
	ASSERT_WAIT(T.aborted > 0);
	/* Noticed by reading, at once: not at some write or timeout. */
	ck_assert_int_lt(T.abort_at_ms - closed_at, 500);
	ck_assert_int_eq(T.aborted, 1);
	ck_assert_ptr_null(T.parked);
	ck_assert_str_ne(T.abort_why, "");
	ck_assert_uint_eq(httpserver_connections(T.srv), 0);
	ck_assert_int_eq(T.nstatuses, 0);
}
END_TEST

START_TEST(test_parked_outlives_timeouts)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c;

	cfg.idle_timeout_ms = 100;
	cfg.read_timeout_ms = 100;
	start_server(&cfg);
	c = cli_open();
	cli_sends(c, "GET /park HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	/* A long-poll waits as long as its handler wants. */
	pump_for(400);
	ck_assert_int_eq(T.aborted, 0);
	ck_assert(!c->eof);
	httpreq_reply(T.parked, 200, "text/plain", "late", 4);
	T.parked = NULL;
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "late");
	/* Replied: the abort callback is forgotten. */
	cli_close(c);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);
	ck_assert_int_eq(T.aborted, 0);
}
END_TEST

START_TEST(test_parked_server_free_aborts)
{
	struct cli *c = cli_open();

	cli_sends(c, "GET /park HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	httpserver_free(T.srv);
	T.srv = NULL;
	ck_assert_int_eq(T.aborted, 1);
	ck_assert_ptr_null(T.parked);
	cli_expect_closed(c);
}
END_TEST

START_TEST(test_parked_pipelined_flood)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c;
	char junk[3000];

	cfg.max_header_bytes = 1024;
	start_server(&cfg);
	c = cli_open();
	cli_sends(c, "GET /park HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	/* Bytes beyond the head cap while a request is parked: refused. */
	memset(junk, 'G', sizeof(junk));
	cli_send(c, junk, sizeof(junk));
	ASSERT_WAIT(T.aborted > 0);
	cli_expect_closed(c);
	ck_assert_uint_eq(httpserver_connections(T.srv), 0);
}
END_TEST

START_TEST(test_handler_abort)
{
	struct cli *c = cli_open();

	cli_sends(c, "GET /abort HTTP/1.1\r\n\r\n");
	cli_expect_closed(c);
	ck_assert_uint_eq(c->raw.len, 0);
	ck_assert_int_eq(T.nreq, 1);
	ck_assert_int_eq(T.aborted, 0);	/* not called for our own abort */
	ck_assert_uint_eq(httpserver_connections(T.srv), 0);
}
END_TEST

/* ---- streamed replies ---- */

START_TEST(test_chunked_reply)
{
	static const char framed[] = "3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n";
	struct cli *c = cli_open();
	size_t len;

	cli_sends(c, "GET /chunked HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(cli_header(c, "Transfer-Encoding"), "chunked");
	ck_assert_ptr_null(cli_header(c, "Content-Length"));
	ck_assert_str_eq(buf_cstr(&c->body), "abcdefgh");
	/* The exact framing: an empty write adds no (terminating) chunk. */
	len = c->used - c->resp_off;
	ck_assert_uint_gt(len, sizeof(framed) - 1);
	ck_assert_int_eq(memcmp(c->raw.data + c->used - (sizeof(framed) - 1),
	    framed, sizeof(framed) - 1), 0);
	/* Keep-alive after a chunked reply. */
	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello");
	ck_assert_uint_eq(c->used, c->raw.len);
}
END_TEST

START_TEST(test_content_length_reply)
{
	struct cli *c = cli_open();

	cli_sends(c, "GET /cl HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 201);
	ck_assert_int_eq(memcmp(c->raw.data + c->resp_off,
	    "HTTP/1.1 201 Made\r\n", 19), 0);
	ck_assert_str_eq(cli_header(c, "Content-Length"), "10");
	ck_assert_ptr_null(cli_header(c, "Transfer-Encoding"));
	ck_assert_str_eq(buf_cstr(&c->body), "0123456789");
	ck_assert_int_eq(memcmp(c->raw.data + c->used - 14,
	    "\r\n\r\n0123456789", 14), 0);
	cli_sends(c, "GET /cl HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 201);
	ck_assert_int_eq(T.nreq, 2);
	ck_assert_uint_eq(httpserver_connections(T.srv), 1);
}
END_TEST

START_TEST(test_streamed_reply_incremental)
{
	struct cli *c = cli_open();
	struct httpreq *r;

	cli_sends(c, "GET /streampark HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	/* The head and first chunk arrive before the reply ends. */
	ASSERT_WAIT(c->raw.len > 0 && strstr(c->raw.data,
	    "\r\n\r\n5\r\nfirst\r\n") != NULL);
	pump_for(10);
	ck_assert_ptr_null(strstr(c->raw.data, "0\r\n\r\n"));
	r = T.parked;
	ck_assert_int_eq(httpreq_reply_write(r, "second", 6), 0);
	T.parked = NULL;
	httpreq_reply_end(r);
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "firstsecond");
	ck_assert_int_eq(T.aborted, 0);

	/* The peer leaves in the middle of a streamed reply. */
	cli_sends(c, "GET /streampark HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	cli_close(c);
	ASSERT_WAIT(T.aborted > 0);
	ck_assert_ptr_null(T.parked);
	ck_assert_uint_eq(httpserver_connections(T.srv), 0);
}
END_TEST

START_TEST(test_big_reply_drain)
{
	struct cli *c = cli_open();
	size_t i;
	int ok = 1;

	cli_sends(c, "GET /big HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_uint_eq(c->body.len, BIG_REPLY);
	for (i = 0; i < BIG_REPLY && ok; i++)
		ok = c->body.data[i] == (char)('a' + i % 23);
	ck_assert_msg(ok, "body differs at %zu", i - 1);
	ck_assert_int_gt(T.drains, 0);
	ck_assert_int_eq(T.aborted, 0);
	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
}
END_TEST

/* ---- limits and errors ---- */

START_TEST(test_connection_cap)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c1, *c2, *c3, *c4;

	cfg.max_connections = 2;
	test_expect_log(LOG_LEVEL_WARN, "connection refused: limit reached");
	start_server(&cfg);
	c1 = cli_open();
	c2 = cli_open();
	ASSERT_WAIT(httpserver_connections(T.srv) == 2);
	c3 = cli_open();
	ck_assert_int_eq(cli_response(c3), 503);
	ck_assert_str_eq(cli_header(c3, "Connection"), "close");
	cli_expect_closed(c3);
	ASSERT_WAIT(httpserver_connections(T.srv) == 2);
	ck_assert_int_eq(T.nreq, 0);
	/* The two admitted ones work. */
	cli_sends(c1, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c1), 200);
	cli_sends(c2, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c2), 200);
	/* A slot frees up: the next one is admitted. */
	cli_close(c1);
	ASSERT_WAIT(httpserver_connections(T.srv) == 1);
	c4 = cli_open();
	cli_sends(c4, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c4), 200);
	ck_assert_uint_eq(httpserver_connections(T.srv), 2);
}
END_TEST

static void
expect_400(const char *req)
{
	struct cli *c = cli_open();

	cli_sends(c, req);
	ck_assert_int_eq(cli_response(c), 400);
	ck_assert_str_eq(cli_header(c, "Connection"), "close");
	cli_expect_closed(c);
	cli_release(c);
}

START_TEST(test_malformed_400)
{
	expect_400("GARBAGE\r\n\r\n");
	expect_400("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
	expect_400("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n");
	expect_400("CONNECT node1.example:443 HTTP/1.1\r\n"
	    "Host: node1.example:443\r\n\r\n");
	ck_assert_int_eq(T.nreq, 0);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);

	/* After a good request on the same connection, too. */
	{
		struct cli *c = cli_open();

		cli_sends(c, "GET /hello HTTP/1.1\r\n\r\nBAD REQUEST\r\n\r\n");
		ck_assert_int_eq(cli_response(c), 200);
		ck_assert_int_eq(cli_response(c), 400);
		cli_expect_closed(c);
	}
	/* A bad chunk in a streamed body: 400, the handler is told. */
	{
		struct cli *c = cli_open();

		cli_sends(c, "POST /stream HTTP/1.1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nZZ\r\n");
		ck_assert_int_eq(cli_response(c), 400);
		cli_expect_closed(c);
		ck_assert_int_eq(T.aborted, 1);
		ck_assert_int_eq(T.body_done, 0);
	}
}
END_TEST

START_TEST(test_expect_continue)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct cli *c = cli_open();

	cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Expect: 100-continue\r\n\r\n");
	ASSERT_WAIT(c->raw.len >= sizeof(cont) - 1);
	pump_for(20);
	ck_assert_uint_eq(c->raw.len, sizeof(cont) - 1);
	ck_assert_int_eq(memcmp(c->raw.data, cont, sizeof(cont) - 1), 0);
	ck_assert_int_eq(T.body_done, 0);
	cli_sends(c, "hello");
	ck_assert_int_eq(cli_response(c), 100);
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello");
	ck_assert(!c->eof);

	/* Also for a streamed body. */
	buf_reset(&T.body);
	cli_sends(c, "POST /stream HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Expect: 100-continue\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 100);
	cli_sends(c, "abc");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&T.body), "abc");

	/* A handler that answers without reading: no 100, then close. */
	cli_sends(c, "POST /early HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Expect: 100-continue\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ck_assert_str_eq(buf_cstr(&c->body), "hello");
	ck_assert_str_eq(cli_header(c, "Connection"), "close");
	cli_expect_closed(c);
}
END_TEST

START_TEST(test_header_cap)
{
	struct httpserver_config cfg = default_cfg;
	struct buf b;
	struct cli *c;
	size_t i;
	int status;

	cfg.max_header_bytes = 1024;
	start_server(&cfg);
	/* Under the cap: fine. */
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "GET /hello HTTP/1.1\r\nX-Big: "), 0);
	for (i = 0; i < 600; i++)
		ck_assert_int_eq(buf_puts(&b, "v"), 0);
	ck_assert_int_eq(buf_puts(&b, "\r\n\r\n"), 0);
	c = cli_open();
	cli_send(c, b.data, b.len);
	ck_assert_int_eq(cli_response(c), 200);
	/* Twice the cap: refused and closed. */
	buf_reset(&b);
	ck_assert_int_eq(buf_puts(&b, "GET /hello HTTP/1.1\r\nX-Big: "), 0);
	for (i = 0; i < 2048; i++)
		ck_assert_int_eq(buf_puts(&b, "v"), 0);
	ck_assert_int_eq(buf_puts(&b, "\r\n\r\n"), 0);
	c = cli_open();
	cli_send(c, b.data, b.len);
	status = cli_response(c);
	ck_assert_msg(status == 400 || status == 431, "status %d", status);
	cli_expect_closed(c);
	ck_assert_int_eq(T.nreq, 1);
	buf_release(&b);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c;
	int64_t t0, dt;

	cfg.idle_timeout_ms = 200;
	start_server(&cfg);
	/* Idle after a keep-alive reply: closed after the idle timeout. */
	c = cli_open();
	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	t0 = now_ms();
	pump_for(120);
	ck_assert(!c->eof);
	/* Another request restarts the clock. */
	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	t0 = now_ms();
	pump_for(120);
	ck_assert(!c->eof);
	ASSERT_WAIT(c->eof);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 150);
	ck_assert_int_lt(dt, 2000);
	ck_assert_uint_eq(c->used, c->raw.len);	/* closed quietly */
	ck_assert_int_eq(T.nreq, 2);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);
}
END_TEST

/* A connection that never sends a byte does not stay. */
START_TEST(test_silent_connection)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c;
	int64_t t0, dt;

	cfg.idle_timeout_ms = 200;
	cfg.read_timeout_ms = 200;
	start_server(&cfg);
	t0 = now_ms();
	c = cli_open();
	ASSERT_WAIT(c->eof);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 150);
	ck_assert_int_lt(dt, 2000);
	ck_assert_uint_eq(c->raw.len, 0);
	ck_assert_int_eq(T.nreq, 0);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);
}
END_TEST

START_TEST(test_read_timeout)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c;
	int64_t t0, dt;

	cfg.read_timeout_ms = 200;
	start_server(&cfg);
	c = cli_open();
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	t0 = now_ms();
	ASSERT_WAIT(c->eof);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 150);
	ck_assert_int_lt(dt, 2000);
	ck_assert_int_eq(T.nreq, 0);

	/* A stalled body: the handler is told. */
	c = cli_open();
	cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nab");
	ASSERT_WAIT(c->eof);
	ck_assert_int_eq(T.aborted, 1);
	ck_assert_int_eq(T.body_done, 0);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);
}
END_TEST

/*
 * The head's deadline runs from its first byte; more bytes do not stretch
 * it.
 */
START_TEST(test_header_deadline)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c;
	int64_t t0, dt;
	int i;

	cfg.read_header_timeout_ms = 300;
	start_server(&cfg);
	/* A byte every 50 ms: never inactive, cut at 300 ms with a 408. */
	c = cli_open();
	t0 = now_ms();
	cli_sends(c, "GET /hello HTTP/1.1\r\nX-Slow: ");
	for (i = 0; i < 40 && !c->eof && c->raw.len == 0; i++) {
		pump_for(50);
		if (c->fd != -1 && !c->eof && c->raw.len == 0)
			(void)send(c->fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	ck_assert_int_eq(cli_response(c), 408);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 250);
	ck_assert_int_lt(dt, 1000);
	ck_assert_str_eq(cli_header(c, "Connection"), "close");
	cli_expect_closed(c);
	ck_assert_int_eq(T.nreq, 0);

	/* Nothing sent: closed quietly at the deadline from accept. */
	t0 = now_ms();
	c = cli_open();
	ASSERT_WAIT(c->eof);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 250);
	ck_assert_int_lt(dt, 1000);
	ck_assert_uint_eq(c->raw.len, 0);

	/* Idle time between requests does not count; the next head's does. */
	c = cli_open();
	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	pump_for(400);
	ck_assert(!c->eof);
	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	t0 = now_ms();
	cli_sends(c, "GET /hello HTTP/1.1\r\n");
	ck_assert_int_eq(cli_response(c), 408);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 250);
	ck_assert_int_lt(dt, 1000);
	cli_expect_closed(c);
	ck_assert_int_eq(T.nreq, 2);
	ASSERT_WAIT(httpserver_connections(T.srv) == 0);
}
END_TEST

/*
 * At the cap the longest-idle keep-alive connection makes room; parked ones
 * never.
 */
START_TEST(test_idle_eviction)
{
	struct httpserver_config cfg = default_cfg;
	struct cli *c1, *c2, *c3, *c4, *c5;

	cfg.max_connections = 3;
	test_expect_log(LOG_LEVEL_WARN, "connection refused: limit reached");
	start_server(&cfg);
	c1 = cli_open();
	cli_sends(c1, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c1), 200);
	c2 = cli_open();
	cli_sends(c2, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c2), 200);
	c3 = cli_open();
	cli_sends(c3, "GET /park HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	/* c1 was used again: c2 is now the one idle longest. */
	cli_sends(c1, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c1), 200);
	c4 = cli_open();
	cli_sends(c4, "GET /hello HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c4), 200);
	ASSERT_WAIT(c2->eof);
	ck_assert_uint_eq(c2->used, c2->raw.len);	/* closed quietly */
	ck_assert(!c1->eof);
	/* c4 then c1 go too; a new connection (no request yet) never. */
	c5 = cli_open();
	ASSERT_WAIT(c1->eof);
	ck_assert_uint_eq(httpserver_connections(T.srv), 3);
	cli_release(c1);
	cli_release(c2);
	c1 = cli_open();
	ASSERT_WAIT(c4->eof);
	c2 = cli_open();
	ck_assert_int_eq(cli_response(c2), 503);
	cli_expect_closed(c2);
	/* The parked request and the silent newcomers stayed. */
	ck_assert_ptr_nonnull(T.parked);
	ck_assert_int_eq(T.aborted, 0);
	ck_assert(!c3->eof && !c5->eof && !c1->eof);
	ck_assert_uint_eq(httpserver_connections(T.srv), 3);
}
END_TEST

/*
 * A peer that pipelines and does not read: requests stop being handled
 * once replies pile up, and all are answered once it reads.
 */
START_TEST(test_pipelining_backpressure)
{
	static const char get[] = "GET /quarter HTTP/1.1\r\n\r\n";
	struct sockaddr_in sin;
	char tmp[65536];
	size_t want, got = 0;
	int64_t deadline;
	ssize_t n;
	int fd, i, nreq;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)T.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* 100 replies of 256 KiB: far more than socket buffers hold. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL),
		    (ssize_t)sizeof(get) - 1);
	pump_for(300);
	nreq = T.nreq;
	ck_assert_int_gt(nreq, 0);
	ck_assert_msg(nreq < 100, "all %d pipelined requests handled while "
	    "their replies were not read", nreq);
	pump_for(100);
	ck_assert_int_eq(T.nreq, nreq);	/* and it stays held */
	/* Reading lets the rest through. */
	want = 100 * (size_t)LIMIT_RELAY_HIGH_WATER;
	deadline = now_ms() + WAIT_MS;
	while (got < want && now_ms() < deadline) {
		pump();
		while ((n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
			got += (size_t)n;
	}
	close(fd);
	ck_assert_int_eq(T.nreq, 100);
	ck_assert_uint_gt(got, want);	/* bodies plus heads */
}
END_TEST

START_TEST(test_sent_cb)
{
	struct cli *c = cli_open();
	struct httpreq *r;
	char *big;

	/* Written out: told once, ok. */
	cli_sends(c, "GET /sent HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(cli_response(c), 200);
	ASSERT_WAIT(T.sent_calls > 0);
	pump_for(10);
	ck_assert_int_eq(T.sent_calls, 1);
	ck_assert_int_eq(T.sent_ok, 1);

	/* The peer leaves before any reply: the abort callback instead. */
	cli_sends(c, "GET /parksent HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	cli_close(c);
	ASSERT_WAIT(T.aborted > 0);
	pump_for(10);
	ck_assert_int_eq(T.sent_calls, 1);

	/*
	 * Queued but not all written (shutdown first, a reply larger than
	 * the socket buffers, a peer that does not read): told once, not ok.
	 */
	c = cli_open();
	cli_sends(c, "GET /parksent HTTP/1.1\r\n\r\n");
	ASSERT_WAIT(T.parked != NULL);
	r = T.parked;
	T.parked = NULL;
	big = calloc(1, BIG_REPLY);
	ck_assert_ptr_nonnull(big);
	httpreq_reply(r, 200, "text/plain", big, BIG_REPLY);
	free(big);
	httpserver_free(T.srv);
	T.srv = NULL;
	ck_assert_int_eq(T.sent_calls, 2);
	ck_assert_int_eq(T.sent_ok, 0);
	ck_assert_int_eq(T.aborted, 1);
}
END_TEST

START_TEST(test_listen_addresses)
{
	struct httpserver *s;

	test_expect_log(LOG_LEVEL_ERROR, "msg=\"cannot listen");
	s = httpserver_new(T.base, &default_cfg, handler, &T);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(httpserver_listen(s, "nonsense"), -1);
	ck_assert_int_eq(httpserver_listen(s, "127.0.0.1:99999"), -1);
	ck_assert_int_eq(httpserver_listen(s, "127.0.0.1:"), -1);
	ck_assert_int_eq(httpserver_listen(s, "::1:80"), -1);
	ck_assert_int_eq(httpserver_port(s), -1);
	/* The port the first server holds is taken. */
	{
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", T.port);
		ck_assert_int_eq(httpserver_listen(s, addr), -1);
	}
	ck_assert_int_eq(httpserver_listen(s, "127.0.0.1:0"), 0);
	ck_assert_int_gt(httpserver_port(s), 0);
	ck_assert_int_ne(httpserver_port(s), T.port);
	httpserver_stop_listening(s);
	httpserver_free(s);
	httpserver_free(NULL);
}
END_TEST

Suite *
httpserver_suite(void)
{
	Suite *s = suite_create("httpserver");
	TCase *tc = tcase_create("requests");
	TCase *tp = tcase_create("parked");
	TCase *tr = tcase_create("replies");
	TCase *tl = tcase_create("limits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get_keepalive);
	tcase_add_test(tc, test_pipelined_requests);
	tcase_add_test(tc, test_connection_close_and_http10);
	tcase_add_test(tc, test_read_body);
	tcase_add_test(tc, test_read_body_too_large);
	tcase_add_test(tc, test_read_body_too_large_big);
	tcase_add_test(tc, test_stream_body);
	tcase_add_test(tc, test_stream_body_pause);
	tcase_add_test(tc, test_stream_body_pause_big);
	tcase_add_test(tc, test_stream_body_pause_chunked);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_parked_peer_close_aborts);
	tcase_add_test(tp, test_parked_outlives_timeouts);
	tcase_add_test(tp, test_parked_server_free_aborts);
	tcase_add_test(tp, test_parked_pipelined_flood);
	tcase_add_test(tp, test_handler_abort);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_chunked_reply);
	tcase_add_test(tr, test_content_length_reply);
	tcase_add_test(tr, test_streamed_reply_incremental);
	tcase_add_test(tr, test_big_reply_drain);
	tcase_add_test(tr, test_sent_cb);
	suite_add_tcase(s, tr);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_connection_cap);
	tcase_add_test(tl, test_malformed_400);
	tcase_add_test(tl, test_expect_continue);
	tcase_add_test(tl, test_header_cap);
	tcase_add_test(tl, test_idle_timeout);
	tcase_add_test(tl, test_silent_connection);
	tcase_add_test(tl, test_read_timeout);
	tcase_add_test(tl, test_header_deadline);
	tcase_add_test(tl, test_idle_eviction);
	tcase_add_test(tl, test_pipelining_backpressure);
	tcase_add_test(tl, test_listen_addresses);
	suite_add_tcase(s, tl);
	return s;
}
