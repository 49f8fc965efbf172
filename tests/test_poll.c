/*
 * Poll bodies: what FQDNs the proxy accepts, and how it normalizes them.
 */
#include <check.h>
#include <string.h>

#include "poll.h"

static int
parse(const char *body, char *out, const char **why)
{
	return poll_parse_fqdn(body, strlen(body), out, 256, why);
}

START_TEST(test_fqdn)
{
	char out[256];
	const char *why = NULL;
	char big[300];

	ck_assert_int_eq(parse("node1.example.com", out, &why), 0);
	ck_assert_str_eq(out, "node1.example.com");
	ck_assert_int_eq(parse(" \tNode1.Example.COM\r\n", out, &why), 0);
	ck_assert_str_eq(out, "node1.example.com");
	ck_assert_int_eq(parse("127.0.0.1", out, &why), 0);
	ck_assert_int_eq(parse("::1", out, &why), 0);
	ck_assert_int_eq(parse("", out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert_int_eq(parse("  \n", out, &why), -1);
	ck_assert_int_eq(parse("a b", out, &why), -1);
	ck_assert_int_eq(parse("node\"1", out, &why), -1);
	ck_assert_int_eq(parse("<html>", out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "letters"));
	memset(big, 'a', 254);
	big[254] = '\0';
	ck_assert_int_eq(parse(big, out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "253"));
	big[253] = '\0';
	ck_assert_int_eq(parse(big, out, &why), 0);
	ck_assert_int_eq(poll_parse_fqdn("ab\0c", 4, out, 256, &why), -1);
}
END_TEST

Suite *
poll_suite(void)
{
	Suite *s = suite_create("poll");
	TCase *tc = tcase_create("fqdn");

	tcase_add_test(tc, test_fqdn);
	suite_add_tcase(s, tc);
	return s;
}
