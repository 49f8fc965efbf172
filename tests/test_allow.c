/*
 * Unit tests for the --scrape.allow list (client/allow.c): which patterns
 * parse and why the others do not, matching of port and exact path, the
 * empty list allowing everything, and the refusal text in each of its
 * four forms, including a list too long to show whole.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "pushprox_limits.h"

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* A list built from patterns that must all parse. */
static struct allow *
make(const char *const *patterns, size_t n)
{
	struct allow	*a = allow_new();
	const char	*why = NULL;

	ck_assert_ptr_nonnull(a);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(allow_add(a, patterns[i], &why) == 0,
		    "%s: %s", patterns[i], why);
	ck_assert_uint_eq(allow_count(a), n);
	return a;
}

static const char *const good[] = {
	"9100", "9100/metrics", "*/metrics", "*", "1", "65535", "09100",
	"9100/", "*/probe/x.y", "8080/a*b", "443/%20x",
};

START_TEST(test_good)
{
	struct allow	*a = allow_new();
	const char	*why = NULL;

	ck_assert_msg(allow_add(a, good[_i], &why) == 0, "%s: %s", good[_i],
	    why);
	ck_assert_uint_eq(allow_count(a), 1);
	allow_free(a);
}
END_TEST

static const struct {
	const char	*pattern;
	const char	*why;
} bad[] = {
	{ "", "empty pattern (expected PORT, PORT/PATH or */PATH)" },
	{ "0", "port must be 1..65535 or *" },
	{ "65536", "port must be 1..65535 or *" },
	{ "100000", "port must be 1..65535 or *" },
	{ "-1", "port must be 1..65535 or *" },
	{ "+80", "port must be 1..65535 or *" },
	{ "http", "port must be 1..65535 or *" },
	{ "/metrics", "port must be 1..65535 or *" },
	{ "**/metrics", "port must be 1..65535 or *" },
	{ " 9100", "port must be 1..65535 or *" },
	{ "91a0/metrics", "port must be 1..65535 or *" },
	{ "0/metrics", "port must be 1..65535 or *" },
	{ "9100metrics", "path must start with /" },
	{ "*metrics", "path must start with /" },
	{ "9100 /metrics", "port must be 1..65535 or *" },
	{ "9100/metrics?x=1", "path must not contain a query or fragment "
	  "(it matches the URL path exactly)" },
	{ "9100/metrics#x", "path must not contain a query or fragment "
	  "(it matches the URL path exactly)" },
	{ "9100/a b", "path must not contain spaces or control characters" },
	{ "9100/a\tb", "path must not contain spaces or control characters" },
	{ "9100/a\x7f", "path must not contain spaces or control characters" },
};

START_TEST(test_bad)
{
	struct allow	*a = allow_new();
	const char	*why = NULL;

	ck_assert_int_eq(allow_add(a, bad[_i].pattern, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, bad[_i].why);
	ck_assert_uint_eq(allow_count(a), 0);
	allow_free(a);
}
END_TEST

START_TEST(test_too_long_and_too_many)
{
	struct allow	*a = allow_new();
	const char	*why = NULL;
	char		 p[LIMIT_ALLOW_PATTERN_BYTES + 2];

	memset(p, 'x', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	memcpy(p, "9100/", 5);
	ck_assert_int_eq(allow_add(a, p, &why), -1);
	ck_assert_str_eq(why, "pattern longer than 2048 bytes");
	p[LIMIT_ALLOW_PATTERN_BYTES] = '\0';
	ck_assert_int_eq(allow_add(a, p, &why), 0);
	for (int i = 1; i < LIMIT_ALLOW_RULES; i++)
		ck_assert_int_eq(allow_add(a, "9100", &why), 0);
	ck_assert_int_eq(allow_add(a, "9100", &why), -1);
	ck_assert_str_eq(why, "too many --scrape.allow patterns (at most 256)");
	ck_assert_uint_eq(allow_count(a), LIMIT_ALLOW_RULES);
	allow_free(a);
}
END_TEST

START_TEST(test_empty_allows_all)
{
	struct allow	*a = allow_new();
	char		 out[256];

	ck_assert(allow_match(a, 22, "/"));
	ck_assert(allow_match(a, 9100, "/metrics"));
	ck_assert(allow_match(NULL, 1, "/x"));
	ck_assert_uint_eq(allow_count(NULL), 0);
	allow_explain(a, 22, "/", out, sizeof(out));
	ck_assert_str_eq(out, "nothing is refused (no --scrape.allow given)");
	allow_free(a);
	allow_free(NULL);
}
END_TEST

/* Port 0 is the named-target route: no rule, not even "*", allows it. */
START_TEST(test_port0_never)
{
	const char *const p[] = { "*" };
	struct allow	*a = allow_new(), *b = make(p, 1);
	char		 out[256];

	ck_assert(!allow_match(a, 0, "/metrics"));
	ck_assert(!allow_match(NULL, 0, "/"));
	ck_assert(!allow_match(b, 0, "/pushprox/targets/x/metrics"));
	allow_explain(b, 0, "/", out, sizeof(out));
	ck_assert_str_eq(out, "port 0 is the named-target route "
	    "(/pushprox/targets/NAME/metrics), not a port to connect to");
	allow_free(a);
	allow_free(b);
}
END_TEST

static const char *const rules[] = { "9100/metrics", "*/probe", "9200" };

static const struct {
	unsigned	 port;
	const char	*path;
	bool		 ok;
} matches[] = {
	{ 9100, "/metrics", true },
	{ 9100, "/metrics/", false },
	{ 9100, "/Metrics", false },
	{ 9100, "/metric", false },
	{ 9100, "/", false },
	{ 9100, "", false },
	{ 9100, "/probe", true },
	{ 22, "/probe", true },
	{ 1, "/probe", true },
	{ 22, "/probe/", false },
	{ 9200, "/", true },
	{ 9200, "/anything/at/all", true },
	{ 9201, "/metrics", false },
	{ 22, "/", false },
	{ 0, "/metrics", false },
};

START_TEST(test_match)
{
	struct allow	*a = make(rules, 3);

	ck_assert_msg(allow_match(a, (uint16_t)matches[_i].port,
	    matches[_i].path) == matches[_i].ok, "%u %s", matches[_i].port,
	    matches[_i].path);
	allow_free(a);
}
END_TEST

START_TEST(test_match_port_only_and_star)
{
	const char *const p1[] = { "9100" };
	const char *const p2[] = { "*" };
	const char *const p3[] = { "9100/" };
	struct allow	*a = make(p1, 1), *b = make(p2, 1), *c = make(p3, 1);

	ck_assert(allow_match(a, 9100, "/"));
	ck_assert(allow_match(a, 9100, "/metrics"));
	ck_assert(!allow_match(a, 9101, "/metrics"));
	ck_assert(allow_match(b, 22, "/"));
	ck_assert(allow_match(b, 65535, "/x"));
	ck_assert(allow_match(c, 9100, "/"));
	ck_assert(!allow_match(c, 9100, "/metrics"));
	allow_free(a);
	allow_free(b);
	allow_free(c);
}
END_TEST

static const struct {
	unsigned	 port;
	const char	*path;
	const char	*text;
} explains[] = {
	{ 22, "/", "port 22 and path / are not allowed by --scrape.allow "
	  "(allowed: 9100/metrics, */probe)" },
	{ 22, "/metrics", "port 22 is not allowed by --scrape.allow "
	  "(allowed: 9100/metrics, */probe)" },
	{ 9100, "/", "path / is not allowed by --scrape.allow "
	  "(allowed: 9100/metrics, */probe)" },
	{ 9100, "/probe/", "path /probe/ is not allowed by --scrape.allow "
	  "(allowed: 9100/metrics, */probe)" },
};

START_TEST(test_explain)
{
	const char *const p[] = { "9100/metrics", "*/probe" };
	struct allow	*a = make(p, 2);
	char		 out[512];

	ck_assert(!allow_match(a, (uint16_t)explains[_i].port,
	    explains[_i].path));
	allow_explain(a, (uint16_t)explains[_i].port, explains[_i].path, out,
	    sizeof(out));
	ck_assert_str_eq(out, explains[_i].text);
	allow_free(a);
}
END_TEST

START_TEST(test_explain_combination)
{
	/* Port and path each allowed somewhere, but not together. */
	const char *const p[] = { "9100/metrics", "9200/probe" };
	struct allow	*a = make(p, 2);
	char		 out[512];

	ck_assert(!allow_match(a, 9100, "/probe"));
	allow_explain(a, 9100, "/probe", out, sizeof(out));
	ck_assert_str_eq(out, "path /probe is not allowed on port 9100 by "
	    "--scrape.allow (allowed: 9100/metrics, 9200/probe)");
	allow_free(a);
}
END_TEST

START_TEST(test_explain_port_only_rule)
{
	/* A port-only rule allows every path: only the port is wrong. */
	const char *const p[] = { "9100", "*/probe" };
	struct allow	*a = make(p, 2);
	char		 out[512];

	allow_explain(a, 22, "/metrics", out, sizeof(out));
	ck_assert_str_eq(out, "port 22 is not allowed by --scrape.allow "
	    "(allowed: 9100, */probe)");
	allow_free(a);
}
END_TEST

START_TEST(test_explain_truncated)
{
	struct allow	*a = allow_new();
	const char	*why = NULL;
	char		 out[120], big[4096], p[16];
	size_t		 len;

	for (int i = 1; i <= 50; i++) {
		snprintf(p, sizeof(p), "%d/m", 9000 + i);
		ck_assert_int_eq(allow_add(a, p, &why), 0);
	}
	allow_explain(a, 22, "/", out, sizeof(out));
	len = strlen(out);
	ck_assert_uint_lt(len, sizeof(out));
	ck_assert_msg(len >= 6 && strcmp(out + len - 6, ", ...)") == 0,
	    "got \"%s\"", out);
	ck_assert_ptr_nonnull(strstr(out, "(allowed: 9001/m, 9002/m"));
	/* With room, the whole list. */
	allow_explain(a, 22, "/", big, sizeof(big));
	ck_assert_ptr_nonnull(strstr(big, ", 9050/m)"));
	/* Tiny buffers: truncated, terminated, never overrun. */
	for (size_t n = 1; n < 16; n++) {
		memset(out, 'Z', sizeof(out));
		allow_explain(a, 22, "/", out, n);
		ck_assert_uint_eq(strlen(out), n - 1);
		ck_assert_int_eq(out[n], 'Z');
	}
	allow_explain(a, 22, "/", out, 0);
	allow_free(a);
}
END_TEST

START_TEST(test_explain_long_path)
{
	const char *const p[] = { "9100/metrics" };
	struct allow	*a = make(p, 1);
	char		 path[3000], out[2048];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	allow_explain(a, 9100, path, out, sizeof(out));
	/* The path is cut to 512 bytes; the list still follows. */
	ck_assert_ptr_nonnull(strstr(out, " is not allowed by --scrape.allow "
	    "(allowed: 9100/metrics)"));
	ck_assert_uint_lt(strlen(out), 700);
	allow_free(a);
}
END_TEST

Suite *
allow_suite(void)
{
	Suite	*s = suite_create("allow");
	TCase	*tc = tcase_create("allow");

	tcase_add_loop_test(tc, test_good, 0, NELEM(good));
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad));
	tcase_add_test(tc, test_too_long_and_too_many);
	tcase_add_test(tc, test_empty_allows_all);
	tcase_add_loop_test(tc, test_match, 0, NELEM(matches));
	tcase_add_test(tc, test_match_port_only_and_star);
	tcase_add_test(tc, test_port0_never);
	tcase_add_loop_test(tc, test_explain, 0, NELEM(explains));
	tcase_add_test(tc, test_explain_combination);
	tcase_add_test(tc, test_explain_port_only_rule);
	tcase_add_test(tc, test_explain_truncated);
	tcase_add_test(tc, test_explain_long_path);
	suite_add_tcase(s, tc);
	return s;
}
