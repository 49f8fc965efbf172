/*
 * The header-forwarding policy (common/hop.c): one table of what crosses
 * each hop, and the Connection-named headers of the message itself, so a
 * target sending "Connection: X-Secret" plus "X-Secret: 1" never leaks
 * X-Secret to Prometheus.
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "hop.h"
#include "httpmsg.h"

struct hop_case {
	enum hop	 hop;
	const char	*name;
	bool		 forwards;
};

static const struct hop_case hop_cases[] = {
	/* Hop-by-hop and framing headers: never, on any hop. */
	{ HOP_SCRAPE_TO_POLL, "Connection", false },
	{ HOP_SCRAPE_TO_POLL, "keep-alive", false },
	{ HOP_SCRAPE_TO_POLL, "Proxy-Authorization", false },
	{ HOP_SCRAPE_TO_POLL, "PROXY-CONNECTION", false },
	{ HOP_POLL_TO_TARGET, "TE", false },
	{ HOP_POLL_TO_TARGET, "Upgrade", false },
	{ HOP_TARGET_TO_PUSH, "Transfer-Encoding", false },
	{ HOP_TARGET_TO_PUSH, "Trailer", false },
	{ HOP_PUSH_TO_SCRAPER, "Content-Length", false },
	{ HOP_PUSH_TO_SCRAPER, "Proxy-Authenticate", false },
	/* The protocol's own headers, recomputed by each side. */
	{ HOP_SCRAPE_TO_POLL, "Id", false },
	{ HOP_SCRAPE_TO_POLL, "X-Prometheus-Scrape-Timeout-Seconds", false },
	{ HOP_POLL_TO_TARGET, "Host", false },
	{ HOP_POLL_TO_TARGET, "id", false },
	{ HOP_TARGET_TO_PUSH, "Id", false },
	{ HOP_TARGET_TO_PUSH, "X-Prometheus-Scrape-Timeout", false },
	{ HOP_PUSH_TO_SCRAPER, "ID", false },
	{ HOP_PUSH_TO_SCRAPER, "X-Prometheus-Scrape-Timeout", false },
	/* End-to-end headers cross. */
	{ HOP_SCRAPE_TO_POLL, "Host", true },
	{ HOP_SCRAPE_TO_POLL, "Accept-Encoding", true },
	{ HOP_SCRAPE_TO_POLL, "Authorization", true },
	{ HOP_POLL_TO_TARGET, "X-Prometheus-Scrape-Timeout-Seconds", true },
	{ HOP_POLL_TO_TARGET, "User-Agent", true },
	{ HOP_TARGET_TO_PUSH, "Content-Type", true },
	{ HOP_TARGET_TO_PUSH, "Content-Encoding", true },
	{ HOP_PUSH_TO_SCRAPER, "Content-Type", true },
	{ HOP_PUSH_TO_SCRAPER, "Date", true },
	/* Near misses are not the names above. */
	{ HOP_PUSH_TO_SCRAPER, "Connections", true },
	{ HOP_PUSH_TO_SCRAPER, "TEE", true },
	{ HOP_PUSH_TO_SCRAPER, "Upgrade-Insecure-Requests", true },
};

START_TEST(test_hop_table)
{
	const struct hop_case *c = &hop_cases[_i];
	static const struct httpmsg_header none[1] = { { "Host", "h" } };

	ck_assert_msg(hop_forwards(c->hop, none, 1, c->name) == c->forwards,
	    "hop %d, %s: expected %s", (int)c->hop, c->name,
	    c->forwards ? "forwarded" : "dropped");
}
END_TEST

/* Every hop drops what a Connection header names, wherever it stands. */
START_TEST(test_connection_named)
{
	static const struct httpmsg_header h[] = {
		{ "X-Secret", "1" },
		{ "Content-Type", "text/plain" },
		{ "Connection", "close, X-Secret" },
		{ "connection", "\tkeep-alive ,x-other " },
		{ "X-Other", "2" },
		{ "X-Kept", "3" },
	};
	size_t n = sizeof(h) / sizeof(h[0]);
	enum hop hop;

	for (hop = HOP_SCRAPE_TO_POLL; hop <= HOP_PUSH_TO_SCRAPER; hop++) {
		ck_assert(!hop_forwards(hop, h, n, "X-Secret"));
		ck_assert(!hop_forwards(hop, h, n, "x-secret"));
		ck_assert(!hop_forwards(hop, h, n, "X-Other"));
		ck_assert(hop_forwards(hop, h, n, "X-Kept"));
		ck_assert(hop_forwards(hop, h, n, "Content-Type"));
	}
	ck_assert(hop_connection_lists(h, n, "close"));
	ck_assert(!hop_connection_lists(h, n, "X-Kept"));
	ck_assert(!hop_connection_lists(h, n, "X-Secre"));
}
END_TEST

/* The parsed-message form agrees with the array form. */
START_TEST(test_message_form)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
	    "Connection: X-Secret\r\nX-Secret: 1\r\nContent-Type: t\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct httpmsg *m = httpmsg_new(HTTPMSG_RESPONSE, 4096, NULL, NULL);

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(httpmsg_feed(m, resp, sizeof(resp) - 1),
	    (ssize_t)(sizeof(resp) - 1));
	ck_assert(!hop_forwards_msg(HOP_PUSH_TO_SCRAPER, m, "X-Secret"));
	ck_assert(!hop_forwards_msg(HOP_PUSH_TO_SCRAPER, m, "Connection"));
	ck_assert(!hop_forwards_msg(HOP_PUSH_TO_SCRAPER, m, "Content-Length"));
	ck_assert(hop_forwards_msg(HOP_PUSH_TO_SCRAPER, m, "Content-Type"));
	httpmsg_free(m);
}
END_TEST

Suite *
hop_suite(void)
{
	Suite *s = suite_create("hop");
	TCase *tc = tcase_create("policy");

	tcase_add_loop_test(tc, test_hop_table, 0,
	    (int)(sizeof(hop_cases) / sizeof(hop_cases[0])));
	tcase_add_test(tc, test_connection_named);
	tcase_add_test(tc, test_message_form);
	suite_add_tcase(s, tc);
	return s;
}
