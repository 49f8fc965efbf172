/*
 * Unit tests for the reply side of the HTTP server (common/httpreq.c):
 * the exact bytes a reply puts on the wire for what RFC 9110 allows
 * (bodyless statuses, HEAD), reason phrases that are too long or not
 * VCHAR/SP/HTAB, statuses outside 100-599 (a 502, never an abort), and
 * relayed heads that fit by construction.  A real server on 127.0.0.1,
 * port 0; the test's socket is read while the loop runs in bounded steps.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "httpreq.h"
#include "httpserver.h"
#include "log.h"
#include "pushprox_limits.h"
#include "testlog.h"

#define WAIT_MS		5000	/* the bound on every wait */

static struct {
	struct event_base	*base;
	struct httpserver	*srv;
	FILE			*devnull;
	int			 port;
	int			 start_rc;
	int			 added;		/* headers add_header took */
} T;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
stream(struct httpreq *req, int status, const char *reason, int64_t len,
    const char *body)
{
	T.start_rc = httpreq_reply_start(req, status, reason, len);
	(void)httpreq_reply_write(req, body, strlen(body));
	httpreq_reply_end(req);
}

static void
add_many(struct httpreq *req, size_t n, size_t vlen)
{
	char name[32], value[1024];
	size_t i;

	memset(value, 'v', vlen);
	value[vlen] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "X-H-%02zu", i);
		if (httpreq_add_header(req, name, value) == 0)
			T.added++;
	}
}

static void
handler(struct httpreq *req, void *arg)
{
	const char *t = httpreq_target(req);
	char reason[9001];

	if (strcmp(t, "/reason9k") == 0) {
		memset(reason, 'R', sizeof(reason) - 1);
		reason[sizeof(reason) - 1] = '\0';
		stream(req, 200, reason, 2, "ok");
	} else if (strcmp(t, "/reasonctl") == 0)
		stream(req, 200, "O\001K\177", 2, "ok");
	else if (strcmp(t, "/reasonok") == 0)
		stream(req, 200, "Fine\tBy Me", 2, "ok");
	else if (strcmp(t, "/204") == 0)
		stream(req, 204, NULL, -1, "forged");
	else if (strcmp(t, "/204len") == 0)
		stream(req, 204, NULL, 6, "forged");
	else if (strcmp(t, "/304") == 0)
		stream(req, 304, NULL, 6, "forged");
	else if (strcmp(t, "/600") == 0)
		stream(req, 600, NULL, 2, "ok");
	else if (strcmp(t, "/000") == 0)
		stream(req, 0, NULL, -1, "ok");
	else if (strcmp(t, "/chunked") == 0)
		stream(req, 200, NULL, -1, "hello");
	else if (strcmp(t, "/whole") == 0)
		httpreq_reply(req, 200, "text/plain", "hello", 5);
	else if (strcmp(t, "/many") == 0) {
		add_many(req, 90, 650);
		stream(req, 200, NULL, 2, "ok");
	} else if (strcmp(t, "/reserved") == 0) {
		httpreq_reserve_headers(req, 64 * 1024);
		add_many(req, 90, 650);
		stream(req, 200, NULL, 2, "ok");
	} else if (strcmp(t, "/cleared") == 0) {
		add_many(req, 3, 10);
		httpreq_clear_headers(req);
		httpreq_reply_text(req, 502, "nope");
	} else
		httpreq_reply_text(req, 404, "no such test");
}

static void
setup(void)
{
	struct httpserver_config cfg = {
		.max_connections = 16,
		.max_header_bytes = LIMIT_MAX_HEADER_BYTES,
		.idle_timeout_ms = WAIT_MS,
		.read_timeout_ms = WAIT_MS,
		.write_timeout_ms = WAIT_MS,
	};

	memset(&T, 0, sizeof(T));
	T.devnull = fopen("/dev/null", "w");
	ck_assert_ptr_nonnull(T.devnull);
	log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_LOGFMT, T.devnull);
	ck_assert_ptr_nonnull(T.base = event_base_new());
	ck_assert_ptr_nonnull(T.srv = httpserver_new(T.base, &cfg, handler,
	    NULL));
	ck_assert_int_eq(httpserver_listen(T.srv, "127.0.0.1:0"), 0);
	T.port = httpserver_port(T.srv);
}

static void
teardown(void)
{
	httpserver_free(T.srv);
	event_base_free(T.base);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, NULL);
	fclose(T.devnull);
}

/*
 * Sends req on a new connection and returns everything received until the
 * server closes it (the last request says "Connection: close").
 */
static void
exchange(const char *req, struct buf *out)
{
	struct sockaddr_in sin;
	int64_t deadline = now_ms() + WAIT_MS;
	char data[65536];
	ssize_t n;
	int fd;

	buf_init(out, 1 << 20);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)T.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	while (now_ms() < deadline) {
		event_base_loop(T.base, EVLOOP_NONBLOCK);
		n = recv(fd, data, sizeof(data), 0);
		if (n == 0)
			break;
		if (n > 0)
			ck_assert_int_eq(buf_append(out, data, (size_t)n), 0);
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		else
			usleep(1000);
	}
	ck_assert_msg(now_ms() < deadline, "no close within %d ms",
	    WAIT_MS);
	close(fd);
}

#define CLOSE	"Host: x\r\nConnection: close\r\n\r\n"

static void
check_reply(const char *req, const char *want)
{
	struct buf out;

	exchange(req, &out);
	ck_assert_str_eq(buf_cstr(&out), want);
	buf_release(&out);
}

START_TEST(test_reason_9k_is_standard)
{
	check_reply("GET /reason9k HTTP/1.1\r\n" CLOSE,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nok");
	ck_assert_int_eq(T.start_rc, 0);
}
END_TEST

START_TEST(test_reason_controls_is_standard)
{
	check_reply("GET /reasonctl HTTP/1.1\r\n" CLOSE,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nok");
}
END_TEST

START_TEST(test_reason_sane_is_kept)
{
	check_reply("GET /reasonok HTTP/1.1\r\n" CLOSE,
	    "HTTP/1.1 200 Fine\tBy Me\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nok");
}
END_TEST

START_TEST(test_204_no_body_no_framing)
{
	/* Keep-alive: the next reply on the connection is the real one. */
	check_reply("GET /204 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /204len HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /whole HTTP/1.1\r\n" CLOSE,
	    "HTTP/1.1 204 No Content\r\n\r\n"
	    "HTTP/1.1 204 No Content\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
}
END_TEST

START_TEST(test_304_no_body_no_framing)
{
	check_reply("GET /304 HTTP/1.1\r\n" CLOSE,
	    "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
}
END_TEST

START_TEST(test_head_no_body)
{
	check_reply("HEAD /whole HTTP/1.1\r\nHost: x\r\n\r\n"
	    "HEAD /chunked HTTP/1.1\r\nHost: x\r\n\r\n"
	    "HEAD /reason9k HTTP/1.1\r\n" CLOSE,
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 5\r\n\r\n"
	    "HTTP/1.1 200 OK\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\n");
}
END_TEST

START_TEST(test_status_out_of_range_is_502)
{
	static const char *const paths[] = { "/600", "/000" };
	struct buf out;
	char req[128];
	size_t i;

	test_expect_log(LOG_LEVEL_WARN,
	    "cannot write reply head; answering 502");
	for (i = 0; i < 2; i++) {
		T.start_rc = 0;
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n" CLOSE,
		    paths[i]);
		exchange(req, &out);
		ck_assert_int_eq(T.start_rc, -1);
		ck_assert_msg(strncmp(buf_cstr(&out), "HTTP/1.1 502 Bad "
		    "Gateway\r\n", 26) == 0, "got %s", buf_cstr(&out));
		ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
		    "status outside 100-599"));
		ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
		    "Connection: close\r\n"));
		/* What the handler wrote after the failed head is dropped. */
		ck_assert_ptr_null(strstr(buf_cstr(&out), "\r\n\r\nok"));
		buf_release(&out);
	}
}
END_TEST

START_TEST(test_headers_fit_by_construction)
{
	struct buf out;

	/* Without room reserved our own headers' cap applies... */
	exchange("GET /many HTTP/1.1\r\n" CLOSE, &out);
	ck_assert_int_lt(T.added, 90);
	buf_release(&out);
	/* ...with it, a 64 KiB relayed head's 58 KB of headers all fit. */
	T.added = 0;
	exchange("GET /reserved HTTP/1.1\r\n" CLOSE, &out);
	ck_assert_int_eq(T.added, 90);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "X-H-89: vvv"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\n\r\nok"));
	buf_release(&out);
}
END_TEST

START_TEST(test_clear_headers)
{
	check_reply("GET /cleared HTTP/1.1\r\n" CLOSE,
	    "HTTP/1.1 502 Bad Gateway\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nnope\n");
}
END_TEST

Suite *httpreq_suite(void);

Suite *
httpreq_suite(void)
{
	Suite *s = suite_create("httpreq");
	TCase *tc = tcase_create("reply");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reason_9k_is_standard);
	tcase_add_test(tc, test_reason_controls_is_standard);
	tcase_add_test(tc, test_reason_sane_is_kept);
	tcase_add_test(tc, test_204_no_body_no_framing);
	tcase_add_test(tc, test_304_no_body_no_framing);
	tcase_add_test(tc, test_head_no_body);
	tcase_add_test(tc, test_status_out_of_range_is_502);
	tcase_add_test(tc, test_headers_fit_by_construction);
	tcase_add_test(tc, test_clear_headers);
	suite_add_tcase(s, tc);
	return s;
}
