/*
 * Unit tests for absolute URL parsing (common/url.c) and the client's
 * two helpers for its proxy URL (the poll and push URLs, the log copy).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static const struct {
	const char	*in;
	const char	*scheme;
	const char	*host;
	int		 port;
	bool		 has_port;
	const char	*pq;
} url_ok[] = {
	{ "http://node1.example:9100/metrics?x=1", "http", "node1.example",
	    9100, true, "/metrics?x=1" },
	{ "http://[::1]:9100/metrics?x=1", "http", "::1", 9100, true,
	    "/metrics?x=1" },
	{ "https://[2001:DB8::1]/m", "https", "2001:db8::1", 443, false,
	    "/m" },
	{ "HTTP://Node1.EXAMPLE/Metrics", "http", "node1.example", 80, false,
	    "/Metrics" },
	{ "http://node1", "http", "node1", 80, false, "/" },
	{ "https://node1?a=b&c", "https", "node1", 443, false, "/?a=b&c" },
	{ "http://10.0.0.1:8080/a/b?c=d#frag", "http", "10.0.0.1", 8080,
	    true, "/a/b?c=d" },
	{ "http://h/p#frag", "http", "h", 80, false, "/p" },
	{ "http://h:65535/", "http", "h", 65535, true, "/" },
	/* Port 0: the named-target route, routed by host (protocol.md 2.5). */
	{ "http://node1.example:0/pushprox/targets/node/metrics", "http",
	    "node1.example", 0, true, "/pushprox/targets/node/metrics" },
};

static const struct {
	const char	*in;
	const char	*why;
} url_bad[] = {
	{ "/metrics", "not an absolute http(s) URL" },
	{ "", "not an absolute http(s) URL" },
	{ "node1:9100/metrics", "not an absolute http(s) URL" },
	{ "http://", "not an absolute http(s) URL" },
	{ "http://h:99999/", "not an absolute http(s) URL" },
	{ "http://h /x", "not an absolute http(s) URL" },
	{ "http://h/x\ny", "not an absolute http(s) URL" },
	{ "ftp://h/x", "scheme must be http or https" },
	{ "httpx://h/x", "scheme must be http or https" },
	{ "http://user:pass@h/x", "userinfo not allowed" },
	{ "http://user@h/x", "userinfo not allowed" },
};

START_TEST(test_url_ok)
{
	struct url u;
	const char *why = NULL;

	ck_assert_msg(url_parse(url_ok[_i].in, &u, &why) == 0,
	    "rejected %s: %s", url_ok[_i].in, why);
	ck_assert_str_eq(u.scheme, url_ok[_i].scheme);
	ck_assert_str_eq(u.host, url_ok[_i].host);
	ck_assert_int_eq(u.port, url_ok[_i].port);
	ck_assert_int_eq(u.has_port, url_ok[_i].has_port);
	ck_assert_str_eq(u.path_query, url_ok[_i].pq);
	url_release(&u);
	ck_assert_ptr_null(u.path_query);
	url_release(&u);
}
END_TEST

START_TEST(test_url_bad)
{
	struct url u;
	const char *why = NULL;

	ck_assert_msg(url_parse(url_bad[_i].in, &u, &why) == -1,
	    "accepted %s", url_bad[_i].in);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, url_bad[_i].why);
	ck_assert_ptr_null(u.path_query);
	url_release(&u);
}
END_TEST

START_TEST(test_url_host_length)
{
	char s[400], host[300];
	struct url u;
	const char *why;
	size_t n;

	for (n = 0; n < 255; n++)
		host[n] = (n % 60 == 59) ? '.' : 'a';
	host[255] = '\0';
	snprintf(s, sizeof(s), "http://%s/", host);
	ck_assert_int_eq(url_parse(s, &u, &why), 0);
	ck_assert_uint_eq(strlen(u.host), 255);
	url_release(&u);
	host[255] = 'b';
	host[256] = '\0';
	snprintf(s, sizeof(s), "http://%s/", host);
	ck_assert_int_eq(url_parse(s, &u, &why), -1);
	ck_assert_str_eq(why, "host too long");
}
END_TEST

/* Only port 0 cannot be connected to; a default port can. */
START_TEST(test_url_connectable)
{
	struct url u;
	const char *why;

	ck_assert_int_eq(url_parse("http://h:0/x", &u, &why), 0);
	ck_assert(!url_connectable(&u));
	url_release(&u);
	ck_assert_int_eq(url_parse("http://h/x", &u, &why), 0);
	ck_assert(url_connectable(&u));
	url_release(&u);
	ck_assert_int_eq(url_parse("https://h:1/x", &u, &why), 0);
	ck_assert(url_connectable(&u));
	url_release(&u);
}
END_TEST

/* --proxy-url as given, the poll URL derived from it. */
static const struct {
	const char	*base;
	const char	*want;
} url_resolve[] = {
	{ "http://proxy:8080", "http://proxy:8080/poll" },
	{ "http://proxy:8080/", "http://proxy:8080/poll" },
	{ "https://proxy/pushprox/", "https://proxy/pushprox/poll" },
	{ "https://proxy/pushprox", "https://proxy/poll" },
	{ "http://proxy/a/b?x=1#f", "http://proxy/a/poll" },
	{ "http://proxy?x=/y", "http://proxy/poll" },
	{ "http://u:p@proxy/x/", "http://u:p@proxy/x/poll" },
	{ "proxy:8080", NULL },
};

START_TEST(test_url_resolve_name)
{
	char	*got = url_resolve_name(url_resolve[_i].base, "poll");

	if (url_resolve[_i].want == NULL)
		ck_assert_ptr_null(got);
	else {
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, url_resolve[_i].want);
	}
	free(got);
}
END_TEST

static const struct {
	const char	*in;
	const char	*want;
} url_strip[] = {
	{ "http://user:secret@proxy:8080/p", "http://proxy:8080/p" },
	{ "http://user@proxy/", "http://proxy/" },
	{ "http://proxy/a@b", "http://proxy/a@b" },	/* @ in the path */
	{ "http://proxy?u=a@b", "http://proxy?u=a@b" },
	{ "https://proxy", "https://proxy" },
	{ "not a url", "not a url" },
};

START_TEST(test_url_strip_userinfo)
{
	char	*got = url_strip_userinfo(url_strip[_i].in);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, url_strip[_i].want);
	free(got);
}
END_TEST

Suite *
url_suite(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_url_ok, 0,
	    sizeof(url_ok) / sizeof(url_ok[0]));
	tcase_add_loop_test(tc, test_url_bad, 0,
	    sizeof(url_bad) / sizeof(url_bad[0]));
	tcase_add_test(tc, test_url_host_length);
	tcase_add_test(tc, test_url_connectable);
	tcase_add_loop_test(tc, test_url_resolve_name, 0,
	    sizeof(url_resolve) / sizeof(url_resolve[0]));
	tcase_add_loop_test(tc, test_url_strip_userinfo, 0,
	    sizeof(url_strip) / sizeof(url_strip[0]));
	suite_add_tcase(s, tc);
	return s;
}
