/* Unit tests for the table-driven flag parser (common/flags.c). */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

struct flags_test_cfg {
	char			*proxy_url;
	char			*listen;
	struct flag_strings	 labels;
	bool			 tls;
	bool			 color;
	int64_t			 retries;
	int64_t			 timeout_ms;
	int64_t			 max_bytes;
	int			 level;
	int64_t			 any;
};

static const char *const flags_test_levels[] = { "debug", "info", "warn",
    "error", NULL };

static const struct flag_def flags_test_table[] = {
	{ "proxy-url", FLAG_STRING, NULL, 0, 0, NULL,
	    offsetof(struct flags_test_cfg, proxy_url), FLAG_REQUIRED,
	    "Push proxy to talk to." },
	{ "web.listen-address", FLAG_STRING, ":8080", 0, 0, NULL,
	    offsetof(struct flags_test_cfg, listen), 0,
	    "Address to listen on." },
	{ "label", FLAG_STRINGS, "a=b", 0, 0, NULL,
	    offsetof(struct flags_test_cfg, labels), 0, "Extra label." },
	{ "tls", FLAG_BOOL, NULL, 0, 0, NULL,
	    offsetof(struct flags_test_cfg, tls), 0, "Use TLS." },
	{ "color", FLAG_BOOL, "true", 0, 0, NULL,
	    offsetof(struct flags_test_cfg, color), 0, "Colors." },
	{ "retries", FLAG_INT, "3", 0, 10, NULL,
	    offsetof(struct flags_test_cfg, retries), 0, "Retries." },
	{ "scrape.max-timeout", FLAG_DURATION, "5m", 1000, 3600000, NULL,
	    offsetof(struct flags_test_cfg, timeout_ms), 0, "Timeout cap." },
	{ "max-bytes", FLAG_BYTES, "64MiB", 1024, INT64_MAX, NULL,
	    offsetof(struct flags_test_cfg, max_bytes), 0, "Body cap." },
	{ "log.level", FLAG_ENUM, "info", 0, 0, flags_test_levels,
	    offsetof(struct flags_test_cfg, level), 0, "Log level." },
	{ "any", FLAG_INT, NULL, 0, 0, NULL,
	    offsetof(struct flags_test_cfg, any), 0, "Unbounded." },
};
#define FLAGS_TEST_N	(sizeof(flags_test_table) / sizeof(flags_test_table[0]))

static const struct flags_program flags_test_prog = {
	"pushprox-client", "1.2.3", "Polls the proxy for scrapes."
};

struct flags_test_run {
	struct flags_test_cfg	 cfg;
	enum flags_result	 r;
	char			*out;
	char			*err;
};

/* Parses a NULL-terminated argument list (after argv[0]). */
static void
flags_test_parse(struct flags_test_run *t, ...)
{
	char *argv[32], *a;
	size_t olen, elen;
	FILE *out, *err;
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)"pushprox-client";
	va_start(ap, t);
	while ((a = va_arg(ap, char *)) != NULL)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	memset(&t->cfg, 0xa5, sizeof(t->cfg));	/* garbage must not matter */
	out = open_memstream(&t->out, &olen);
	err = open_memstream(&t->err, &elen);
	t->r = flags_parse(flags_test_table, FLAGS_TEST_N, &t->cfg,
	    &flags_test_prog, argc, argv, out, err);
	fclose(out);
	fclose(err);
}

static void
flags_test_done(struct flags_test_run *t)
{
	flags_free(flags_test_table, FLAGS_TEST_N, &t->cfg);
	ck_assert_ptr_null(t->cfg.proxy_url);
	ck_assert_ptr_null(t->cfg.labels.v);
	flags_free(flags_test_table, FLAGS_TEST_N, &t->cfg);
	free(t->out);
	free(t->err);
}

START_TEST(test_flags_defaults)
{
	struct flags_test_run t;

	flags_test_parse(&t, "--proxy-url=http://p:8080/", NULL);
	ck_assert_int_eq(t.r, FLAGS_OK);
	ck_assert_str_eq(t.err, "");
	ck_assert_str_eq(t.cfg.proxy_url, "http://p:8080/");
	ck_assert_str_eq(t.cfg.listen, ":8080");
	ck_assert_uint_eq(t.cfg.labels.n, 1);
	ck_assert_str_eq(t.cfg.labels.v[0], "a=b");
	ck_assert(!t.cfg.tls);
	ck_assert(t.cfg.color);
	ck_assert_int_eq(t.cfg.retries, 3);
	ck_assert_int_eq(t.cfg.timeout_ms, 300000);
	ck_assert_int_eq(t.cfg.max_bytes, 64 << 20);
	ck_assert_int_eq(t.cfg.level, 1);
	flags_test_done(&t);
}
END_TEST

START_TEST(test_flags_spellings)
{
	struct flags_test_run t;

	flags_test_parse(&t, "--proxy-url", "http://p/", "--web.listen-address",
	    ":9", "--retries=10", "--scrape.max-timeout", "1m30s",
	    "--max-bytes=1KiB", "--log.level", "error", "--any", "-5",
	    "--tls", "--no-color", "--web.listen-address=:10", NULL);
	ck_assert_int_eq(t.r, FLAGS_OK);
	ck_assert_str_eq(t.cfg.proxy_url, "http://p/");
	ck_assert_str_eq(t.cfg.listen, ":10");
	ck_assert(t.cfg.tls);
	ck_assert(!t.cfg.color);
	ck_assert_int_eq(t.cfg.retries, 10);
	ck_assert_int_eq(t.cfg.timeout_ms, 90000);
	ck_assert_int_eq(t.cfg.max_bytes, 1024);
	ck_assert_int_eq(t.cfg.level, 3);
	ck_assert_int_eq(t.cfg.any, -5);
	flags_test_done(&t);
}
END_TEST

START_TEST(test_flags_bool_forms)
{
	struct flags_test_run t;

	flags_test_parse(&t, "--proxy-url=x", "--tls=true", "--color=false",
	    NULL);
	ck_assert_int_eq(t.r, FLAGS_OK);
	ck_assert(t.cfg.tls);
	ck_assert(!t.cfg.color);
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--tls", "--tls=false",
	    "--no-color", "--color", NULL);
	ck_assert_int_eq(t.r, FLAGS_OK);
	ck_assert(!t.cfg.tls);
	ck_assert(t.cfg.color);
	flags_test_done(&t);

	/* A bool never takes the next argument as its value. */
	flags_test_parse(&t, "--proxy-url=x", "--tls", "false", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: unexpected argument "
	    "\"false\"\nTry 'pushprox-client --help'.\n");
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--tls=yes", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: invalid value \"yes\" for "
	    "flag --tls: not a boolean (true or false)\n"
	    "Try 'pushprox-client --help'.\n");
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--no-tls=true", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "flag --no-tls does not take a "
	    "value"));
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--no-retries", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "unknown flag --no-retries"));
	flags_test_done(&t);
}
END_TEST

START_TEST(test_flags_strings_repeat)
{
	struct flags_test_run t;

	flags_test_parse(&t, "--proxy-url=x", "--label", "x=1", "--label=y=2",
	    "--label", "z=3", NULL);
	ck_assert_int_eq(t.r, FLAGS_OK);
	ck_assert_uint_eq(t.cfg.labels.n, 3);
	ck_assert_str_eq(t.cfg.labels.v[0], "x=1");
	ck_assert_str_eq(t.cfg.labels.v[1], "y=2");
	ck_assert_str_eq(t.cfg.labels.v[2], "z=3");
	flags_test_done(&t);
}
END_TEST

START_TEST(test_flags_range_errors)
{
	struct flags_test_run t;

	flags_test_parse(&t, "--proxy-url=x", "--scrape.max-timeout=2h", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: invalid value \"2h\" for "
	    "flag --scrape.max-timeout: must be between 1s and 1h\n"
	    "Try 'pushprox-client --help'.\n");
	ck_assert_str_eq(t.out, "");
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--scrape.max-timeout=abc", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: invalid value \"abc\" for "
	    "flag --scrape.max-timeout: not a duration (examples: 15s, "
	    "1m30s, 250ms)\nTry 'pushprox-client --help'.\n");
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--max-bytes=1000", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: invalid value \"1000\" for "
	    "flag --max-bytes: must be at least 1KiB\n"
	    "Try 'pushprox-client --help'.\n");
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--retries=11", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: invalid value \"11\" for "
	    "flag --retries: must be between 0 and 10\n"
	    "Try 'pushprox-client --help'.\n");
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--retries", "3x", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "invalid value \"3x\" for flag "
	    "--retries: not an integer\n"));
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--any=99999999999999999999",
	    NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "not an integer"));
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--retries=", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--log.level=trace", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: invalid value \"trace\" for "
	    "flag --log.level: must be one of: debug, info, warn, error\n"
	    "Try 'pushprox-client --help'.\n");
	flags_test_done(&t);
}
END_TEST

START_TEST(test_flags_usage_errors)
{
	struct flags_test_run t;

	flags_test_parse(&t, "--proxy-url=x", "--foo=1", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: unknown flag --foo\n"
	    "Try 'pushprox-client --help'.\n");
	/* Whatever was stored before the error has been released. */
	ck_assert_ptr_null(t.cfg.proxy_url);
	flags_test_done(&t);

	flags_test_parse(&t, NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_str_eq(t.err, "pushprox-client: missing required flag "
	    "--proxy-url\nTry 'pushprox-client --help'.\n");
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "missing required flag "
	    "--proxy-url"));
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "flag --proxy-url needs a value"));
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "extra", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "unexpected argument \"extra\""));
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "-retries=1", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	ck_assert_ptr_nonnull(strstr(t.err, "unknown flag -retries=1"));
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--", NULL);
	ck_assert_int_eq(t.r, FLAGS_OK);
	flags_test_done(&t);

	flags_test_parse(&t, "--proxy-url=x", "--", "--tls", NULL);
	ck_assert_int_eq(t.r, FLAGS_ERROR);
	flags_test_done(&t);
}
END_TEST

START_TEST(test_flags_help_version)
{
	struct flags_test_run t;
	size_t i;
	char want[128];

	flags_test_parse(&t, "--help", NULL);
	ck_assert_int_eq(t.r, FLAGS_EXIT);
	ck_assert_str_eq(t.err, "");
	ck_assert_ptr_nonnull(strstr(t.out, "Polls the proxy for scrapes."));
	ck_assert_ptr_nonnull(strstr(t.out,
	    "Usage: pushprox-client [flags]\n"));
	for (i = 0; i < FLAGS_TEST_N; i++) {
		snprintf(want, sizeof(want), "--%s%s",
		    flags_test_table[i].type == FLAG_BOOL ? "[no-]" : "",
		    flags_test_table[i].name);
		ck_assert_msg(strstr(t.out, want) != NULL, "no %s", want);
		ck_assert_ptr_nonnull(strstr(t.out, flags_test_table[i].help));
	}
	ck_assert_ptr_nonnull(strstr(t.out,
	    "  --scrape.max-timeout=<duration>  Timeout cap. (default: 5m)\n"));
	ck_assert_ptr_nonnull(strstr(t.out,
	    "  --[no-]tls                       Use TLS.\n"));
	ck_assert_ptr_nonnull(strstr(t.out, "  --help "));
	ck_assert_ptr_nonnull(strstr(t.out, "  --version "));
	ck_assert_ptr_nonnull(strstr(t.out, "(one of: debug, info, warn, "
	    "error) (default: info)"));
	flags_test_done(&t);

	flags_test_parse(&t, "-h", NULL);
	ck_assert_int_eq(t.r, FLAGS_EXIT);
	ck_assert_ptr_nonnull(strstr(t.out, "Usage:"));
	flags_test_done(&t);

	flags_test_parse(&t, "--version", NULL);
	ck_assert_int_eq(t.r, FLAGS_EXIT);
	ck_assert_str_eq(t.out, "pushprox-client version 1.2.3\n");
	flags_test_done(&t);
}
END_TEST

START_TEST(test_flags_bad_default)
{
	static const struct flag_def bad[] = {
		{ "t", FLAG_DURATION, "5 minutes", 0, 0, NULL, 0, 0, "T." },
	};
	int64_t v = 0;
	FILE *err = fopen("/dev/null", "w");
	char *argv[] = { (char *)"p", NULL };

	ck_assert_int_eq(flags_parse(bad, 1, &v, &flags_test_prog, 1, argv,
	    err, err), FLAGS_ERROR);
	fclose(err);
}
END_TEST

Suite *
flags_suite(void)
{
	Suite *s = suite_create("flags");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_flags_defaults);
	tcase_add_test(tc, test_flags_spellings);
	tcase_add_test(tc, test_flags_bool_forms);
	tcase_add_test(tc, test_flags_strings_repeat);
	tcase_add_test(tc, test_flags_range_errors);
	tcase_add_test(tc, test_flags_usage_errors);
	tcase_add_test(tc, test_flags_help_version);
	tcase_add_test(tc, test_flags_bad_default);
	suite_add_tcase(s, tc);
	return s;
}
