/*
 * Unit tests for the environment proxy policy (client/netpolicy.c): the
 * proxy chosen by scheme as Go's ProxyFromEnvironment does (upper case
 * first), the NO_PROXY list handed to curl with loopback always added,
 * "*" kept on its own, and Unix-socket transfers never proxied.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "netpolicy.h"

START_TEST(test_unset)
{
	struct netpolicy *np = netpolicy_new(NULL, NULL, NULL);

	ck_assert_ptr_nonnull(np);
	ck_assert_str_eq(netpolicy_proxy(np, "http://h/"), "");
	ck_assert_str_eq(netpolicy_proxy(np, "https://h/"), "");
	ck_assert_str_eq(netpolicy_noproxy(np), "localhost,127.0.0.0/8,::1");
	netpolicy_free(np);
	netpolicy_free(NULL);
}
END_TEST

START_TEST(test_by_scheme)
{
	struct netpolicy *np = netpolicy_new("http://fp:3128",
	    "http://sp:3129", "");

	ck_assert_str_eq(netpolicy_proxy(np, "http://h:9100/m"),
	    "http://fp:3128");
	ck_assert_str_eq(netpolicy_proxy(np, "HTTP://h/"), "http://fp:3128");
	ck_assert_str_eq(netpolicy_proxy(np, "https://h/"), "http://sp:3129");
	ck_assert_str_eq(netpolicy_proxy(np, NULL), ""); /* Unix socket */
	ck_assert_str_eq(netpolicy_proxy(np, "ftp://h/"), "");
	ck_assert_str_eq(netpolicy_noproxy(np), "localhost,127.0.0.0/8,::1");
	netpolicy_free(np);
}
END_TEST

static const struct {
	const char	*no_proxy;
	const char	*want;
} noproxy_cases[] = {
	{ "example.com", "example.com,localhost,127.0.0.0/8,::1" },
	{ ".corp, 10.0.0.0/8", ".corp, 10.0.0.0/8,localhost,127.0.0.0/8,::1" },
	{ " , ", "localhost,127.0.0.0/8,::1" },
	{ "*", "*" },
	{ " * ", "*" },
	/*
	 * "*" among others is a name to curl, as to Go: loopback still added.
	 */
	{ "*,a", "*,a,localhost,127.0.0.0/8,::1" },
};

START_TEST(test_noproxy)
{
	struct netpolicy *np = netpolicy_new("http://fp:3128", NULL,
	    noproxy_cases[_i].no_proxy);

	ck_assert_str_eq(netpolicy_noproxy(np), noproxy_cases[_i].want);
	netpolicy_free(np);
}
END_TEST

/* Upper case wins, lower case fills in, empty counts as unset. */
START_TEST(test_env)
{
	struct netpolicy *np;

	setenv("HTTP_PROXY", "http://upper:1", 1);
	setenv("http_proxy", "http://lower:2", 1);
	setenv("HTTPS_PROXY", "", 1);
	setenv("https_proxy", "http://lower:3", 1);
	unsetenv("NO_PROXY");
	setenv("no_proxy", "internal.example", 1);
	np = netpolicy_new_env();
	ck_assert_str_eq(netpolicy_proxy(np, "http://h/"), "http://upper:1");
	ck_assert_str_eq(netpolicy_proxy(np, "https://h/"), "http://lower:3");
	ck_assert_str_eq(netpolicy_noproxy(np),
	    "internal.example,localhost,127.0.0.0/8,::1");
	netpolicy_free(np);
	unsetenv("HTTP_PROXY");
	unsetenv("http_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	unsetenv("no_proxy");
	np = netpolicy_new_env();
	ck_assert_str_eq(netpolicy_proxy(np, "http://h/"), "");
	netpolicy_free(np);
}
END_TEST

/* curl accepts what is set (the list with CIDR and IPv6 included). */
START_TEST(test_apply)
{
	struct netpolicy *np = netpolicy_new("http://fp:3128", NULL,
	    "10.0.0.0/8");
	CURL *e = curl_easy_init();

	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(netpolicy_apply(np, e, "http://localhost:9100/"), 0);
	ck_assert_int_eq(netpolicy_apply(np, e, NULL), 0);
	curl_easy_cleanup(e);
	netpolicy_free(np);
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

Suite *
netpolicy_suite(void)
{
	Suite	*s = suite_create("netpolicy");
	TCase	*tc = tcase_create("netpolicy");

	tcase_add_test(tc, test_unset);
	tcase_add_test(tc, test_by_scheme);
	tcase_add_loop_test(tc, test_noproxy, 0, NELEM(noproxy_cases));
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_apply);
	suite_add_tcase(s, tc);
	return s;
}
