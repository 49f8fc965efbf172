/* Unit tests for the logger (common/log.c). */
#include <check.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "testlog.h"

struct log_capture {
	char	 lines[8][1024];
	int	 levels[8];
	int	 n;
};

static void
log_capture_hook(enum log_level level, const char *line, void *arg)
{
	struct log_capture *c = arg;

	ck_assert_ptr_null(strchr(line, '\n'));
	if (c->n < 8) {
		snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
		c->levels[c->n] = (int)level;
	}
	c->n++;
}

/* The part of a logfmt line after "ts=... " (the time varies). */
static const char *
log_after_ts(const char *line)
{
	const char *p = strchr(line, ' ');

	ck_assert_ptr_nonnull(p);
	return p + 1;
}

START_TEST(test_log_defaults)
{
	struct log_capture c = { .n = 0 };

	ck_assert(!log_enabled(LOG_LEVEL_DEBUG));
	ck_assert(log_enabled(LOG_LEVEL_INFO));
	log_set_hook(log_capture_hook, &c);
	log_debug("hidden");
	ck_assert_int_eq(c.n, 0);
	log_info("client registered", "fqdn", "node1");
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(c.levels[0], LOG_LEVEL_INFO);
	ck_assert_str_eq(log_after_ts(c.lines[0]),
	    "caller=test_log_defaults_fn level=info "
	    "msg=\"client registered\" fqdn=node1");
	log_set_hook(NULL, NULL);
	log_info("no hook");
	ck_assert_int_eq(c.n, 1);
}
END_TEST

START_TEST(test_log_logfmt_stream)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	regex_t re;

	test_expect_log(LOG_LEVEL_WARN, "msg=y");
	log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_LOGFMT, f);
	log_debug("x", "k", "v");
	log_warn("y");
	fclose(f);
	ck_assert_int_eq(regcomp(&re, "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z caller=[a-z_]+ "
	    "level=debug msg=x k=v\nts=[^ ]+ caller=[a-z_]+ level=warn "
	    "msg=y\n$", REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, mem, 0, NULL, 0) == 0, "got: %s", mem);
	regfree(&re);
	free(mem);
}
END_TEST

START_TEST(test_log_logfmt_escaping)
{
	struct log_capture c = { .n = 0 };
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	test_expect_log(LOG_LEVEL_ERROR, "caller=fn level=error msg=m ");
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, f);
	log_set_hook(log_capture_hook, &c);
	log_emit(LOG_LEVEL_ERROR, "fn", "m", "a", "a\"b\nc", "eq", "x=y",
	    "empty", "", "null", NULL, "bs", "c:\\dir", "ctl", "t\tr\r\x01\x7f",
	    "utf", "caf\xc3\xa9", "bad key", "v", (const char *)NULL);
	fclose(f);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(log_after_ts(c.lines[0]), "caller=fn level=error "
	    "msg=m a=\"a\\\"b\\nc\" eq=\"x=y\" empty=\"\" null=\"\" "
	    "bs=c:\\dir ctl=\"t\\tr\\r\\x01\\x7f\" utf=\"caf\\xc3\\xa9\" "
	    "bad_key=v");
	/* The stream got the same line, with exactly one newline. */
	ck_assert_uint_eq(len, strlen(c.lines[0]) + 1);
	ck_assert_int_eq(strncmp(mem, c.lines[0], len - 1), 0);
	ck_assert_int_eq(mem[len - 1], '\n');
	free(mem);
}
END_TEST

START_TEST(test_log_threshold)
{
	struct log_capture c = { .n = 0 };
	FILE *f = fopen("/dev/null", "w");

	test_expect_log(LOG_LEVEL_WARN, "msg=c");
	test_expect_log(LOG_LEVEL_ERROR, "msg=d");
	log_setup(LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT, f);
	log_set_hook(log_capture_hook, &c);
	ck_assert(!log_enabled(LOG_LEVEL_INFO));
	ck_assert(log_enabled(LOG_LEVEL_ERROR));
	log_debug("a");
	log_info("b");
	log_warn("c");
	log_error("d");
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(c.levels[0], LOG_LEVEL_WARN);
	ck_assert_int_eq(c.levels[1], LOG_LEVEL_ERROR);
	ck_assert_ptr_nonnull(strstr(c.lines[1], " msg=d"));
	fclose(f);
}
END_TEST

START_TEST(test_log_json)
{
	struct log_capture c = { .n = 0 };
	json_error_t jerr;
	json_t *o;
	FILE *f = fopen("/dev/null", "w");
	const char *keys[] = { "ts", "caller", "level", "msg", "a", "eq",
	    "null", "bad" };
	void *it;
	size_t i;

	test_expect_log(LOG_LEVEL_WARN, "\"msg\":\"say \\\"hi\\\"\"");
	log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_JSON, f);
	log_set_hook(log_capture_hook, &c);
	log_emit(LOG_LEVEL_WARN, "fn", "say \"hi\"", "a", "a\"b\nc\\",
	    "eq", "x=y", "null", NULL, "bad", "\xff\xc3(ok\x01\xe2\x82\xac",
	    (const char *)NULL);
	ck_assert_int_eq(c.n, 1);
	o = json_loads(c.lines[0], 0, &jerr);
	ck_assert_msg(o != NULL, "bad JSON %s: %s", c.lines[0], jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(o, "level")),
	    "warn");
	ck_assert_str_eq(json_string_value(json_object_get(o, "caller")),
	    "fn");
	ck_assert_str_eq(json_string_value(json_object_get(o, "msg")),
	    "say \"hi\"");
	ck_assert_str_eq(json_string_value(json_object_get(o, "a")),
	    "a\"b\nc\\");
	ck_assert_str_eq(json_string_value(json_object_get(o, "eq")), "x=y");
	ck_assert_str_eq(json_string_value(json_object_get(o, "null")), "");
	ck_assert_str_eq(json_string_value(json_object_get(o, "bad")),
	    "\xef\xbf\xbd\xef\xbf\xbd(ok\x01\xe2\x82\xac");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o,
	    "ts")), "Z"));
	/* Same keys, same order as logfmt. */
	for (i = 0, it = json_object_iter(o); it != NULL;
	    i++, it = json_object_iter_next(o, it))
		ck_assert_str_eq(json_object_iter_key(it), keys[i]);
	ck_assert_uint_eq(i, 8);
	json_decref(o);
	fclose(f);
}
END_TEST

START_TEST(test_log_long_value)
{
	struct log_capture c = { .n = 0 };
	char *big = malloc(100000);
	FILE *f = fopen("/dev/null", "w");

	memset(big, 'z', 99999);
	big[99999] = '\0';
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, f);
	log_set_hook(log_capture_hook, &c);
	log_info("big", "v", big);
	ck_assert_int_eq(c.n, 1);
	ck_assert_ptr_nonnull(strstr(c.lines[0], "msg=big v=zzz"));
	free(big);
	fclose(f);
}
END_TEST

START_TEST(test_log_names)
{
	ck_assert_str_eq(log_level_names[LOG_LEVEL_DEBUG], "debug");
	ck_assert_str_eq(log_level_names[LOG_LEVEL_INFO], "info");
	ck_assert_str_eq(log_level_names[LOG_LEVEL_WARN], "warn");
	ck_assert_str_eq(log_level_names[LOG_LEVEL_ERROR], "error");
	ck_assert_ptr_null(log_level_names[4]);
	ck_assert_str_eq(log_format_names[LOG_FORMAT_LOGFMT], "logfmt");
	ck_assert_str_eq(log_format_names[LOG_FORMAT_JSON], "json");
	ck_assert_ptr_null(log_format_names[2]);
}
END_TEST

/* The warn hook sees warn and error events, even below the threshold. */
START_TEST(test_log_warn_hook)
{
	struct log_capture c = { .n = 0 }, w = { .n = 0 };
	FILE *f = fopen("/dev/null", "w");

	log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_LOGFMT, f);
	log_set_hook(log_capture_hook, &c);
	log_set_warn_hook(log_capture_hook, &w);
	log_info("a");
	log_warn("b", "k", "v");
	log_error("c");
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(w.n, 2);
	ck_assert_int_eq(w.levels[0], LOG_LEVEL_WARN);
	ck_assert_ptr_nonnull(strstr(w.lines[0], "level=warn msg=b k=v"));
	ck_assert_int_eq(w.levels[1], LOG_LEVEL_ERROR);
	ck_assert_str_eq(w.lines[1], c.lines[0]);
	log_set_warn_hook(NULL, NULL);
	log_warn("d");
	ck_assert_int_eq(w.n, 2);
	fclose(f);
}
END_TEST

START_TEST(test_log_fatal_aborts)
{
	FILE *f = fopen("/dev/null", "w");

	test_expect_log(LOG_LEVEL_ERROR, "msg=boom");
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, f);
	fatal("boom");
}
END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_log_defaults);
	tcase_add_test(tc, test_log_logfmt_stream);
	tcase_add_test(tc, test_log_logfmt_escaping);
	tcase_add_test(tc, test_log_threshold);
	tcase_add_test(tc, test_log_json);
	tcase_add_test(tc, test_log_long_value);
	tcase_add_test(tc, test_log_names);
	tcase_add_test(tc, test_log_warn_hook);
	tcase_add_test_raise_signal(tc, test_log_fatal_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
