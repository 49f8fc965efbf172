/*
 * Label sets: the name and value rules, the reserved names, the caps,
 * merge precedence, the --label flag, and that the canonical form and
 * its hash do not depend on insertion order.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "pushprox_limits.h"

static void
set_fails(struct labels *ls, const char *name, const char *value,
    const char *want)
{
	char err[256] = "";

	ck_assert_int_eq(labels_set(ls, name, value, false, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want);
}

START_TEST(test_names)
{
	const char *good[] = { "a", "_", "_x", "job", "A_9", "site",
	    "x__y" };
	const char *bad[] = { "", "9a", "a-b", "a.b", "é", "a b", "__x",
	    "__address__", "__metrics_path__", "__scheme__", "__param_x",
	    "__meta_pushprox_fqdn", "instance" };
	const char *why;
	char longname[LIMIT_MAX_LABEL_NAME_BYTES + 2], want[64];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(labels_name_ok(good[i], &why), "%s: %s",
		    good[i], why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!labels_name_ok(bad[i], &why), "%s accepted",
		    bad[i]);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert(!labels_name_ok(longname, &why));
	/* The figure comes from the constant (a literal, so LIMIT_STR). */
	snprintf(want, sizeof(want), "label name longer than %d bytes",
	    LIMIT_MAX_LABEL_NAME_BYTES);
	ck_assert_str_eq(why, want);
	longname[sizeof(longname) - 2] = '\0';
	ck_assert(labels_name_ok(longname, &why));
}
END_TEST

START_TEST(test_utf8)
{
	static const struct { const char *s; bool ok; } cases[] = {
		{ "", true }, { "plain", true }, { "Zürich", true },
		{ "\xe2\x82\xac", true },		/* euro sign */
		{ "\xf0\x9f\x98\x80", true },		/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", true },		/* U+10FFFF */
		{ "\x80", false },			/* lone continuation */
		{ "\xc0\xaf", false },			/* overlong / */
		{ "\xe0\x80\xaf", false },		/* overlong / */
		{ "\xed\xa0\x80", false },		/* surrogate D800 */
		{ "\xf4\x90\x80\x80", false },		/* > U+10FFFF */
		{ "\xf8\x88\x80\x80\x80", false },	/* 5 bytes */
		{ "\xc3", false },			/* truncated */
		{ "\xe2\x82", false },			/* truncated */
		{ "\xc3\x28", false },			/* bad continuation */
		{ "\xff", false },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(labels_utf8_ok(cases[i].s, strlen(cases[i].s)) ==
		    cases[i].ok, "case %zu", i);
	ck_assert(!labels_value_ok("a\0b", 3, &why));
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	ck_assert(!labels_value_ok("\xc0\xaf", 2, &why));
	ck_assert_ptr_nonnull(strstr(why, "UTF-8"));
}
END_TEST

START_TEST(test_set_errors)
{
	struct labels ls;
	char big[LIMIT_MAX_LABEL_VALUE_BYTES + 2], want[64];

	labels_init(&ls);
	set_fails(&ls, "a-b", "x", "label \"a-b\": label names must match");
	set_fails(&ls, "__x", "x", "reserved");
	set_fails(&ls, "instance", "x", "FQDN/NAME");
	set_fails(&ls, "v", "\xff", "label v: label value is not valid UTF-8");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(want, sizeof(want), "label v: label value longer than %d "
	    "bytes", LIMIT_MAX_LABEL_VALUE_BYTES);
	set_fails(&ls, "v", big, want);
	big[sizeof(big) - 2] = '\0';
	ck_assert_int_eq(labels_set(&ls, "v", big, false, NULL, 0), 0);
	set_fails(&ls, "v", "again", "label v: duplicate label");
	ck_assert_uint_eq(ls.n, 1);
	ck_assert_uint_eq(ls.bytes, 1 + LIMIT_MAX_LABEL_VALUE_BYTES);
	labels_release(&ls);
	ck_assert_uint_eq(ls.n, 0);
	labels_release(&ls);	/* twice: harmless */
}
END_TEST

START_TEST(test_count_cap)
{
	struct labels ls;
	char name[16], err[128];
	int i;

	labels_init(&ls);
	for (i = 0; i < LIMIT_MAX_LABELS; i++) {
		snprintf(name, sizeof(name), "l%03d", i);
		ck_assert_int_eq(labels_set(&ls, name, "v", false, err,
		    sizeof(err)), 0);
	}
	set_fails(&ls, "zzz", "v", "more than 64 labels");
	/* replacing an existing one is not growth */
	ck_assert_int_eq(labels_set(&ls, "l000", "w", true, err, sizeof(err)),
	    0);
	ck_assert_str_eq(labels_get(&ls, "l000"), "w");
	labels_release(&ls);
}
END_TEST

START_TEST(test_sorted_get)
{
	struct labels ls;
	char err[128];

	labels_init(&ls);
	ck_assert_int_eq(labels_set(&ls, "m", "2", false, err, sizeof(err)),
	    0);
	ck_assert_int_eq(labels_set(&ls, "z", "3", false, err, sizeof(err)),
	    0);
	ck_assert_int_eq(labels_set(&ls, "a", "1", false, err, sizeof(err)),
	    0);
	ck_assert_str_eq(ls.v[0].name, "a");
	ck_assert_str_eq(ls.v[1].name, "m");
	ck_assert_str_eq(ls.v[2].name, "z");
	ck_assert_str_eq(labels_get(&ls, "m"), "2");
	ck_assert_ptr_null(labels_get(&ls, "b"));
	ck_assert_uint_eq(ls.bytes, 6);
	ck_assert_int_eq(labels_set(&ls, "a", "long", true, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(ls.bytes, 9);
	labels_release(&ls);
}
END_TEST

START_TEST(test_merge_precedence)
{
	struct labels flag, file, copy;
	char err[128];

	labels_init(&flag);
	labels_init(&file);
	labels_init(&copy);
	ck_assert_int_eq(labels_parse_flag(&flag, "site=hamburg", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(labels_parse_flag(&flag, "env=prod", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(labels_set(&file, "site", "berlin", false, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(labels_merge(&flag, &file, err, sizeof(err)), 0);
	ck_assert_str_eq(labels_get(&flag, "site"), "berlin");	/* file wins */
	ck_assert_str_eq(labels_get(&flag, "env"), "prod");
	ck_assert_int_eq(labels_copy(&copy, &flag), 0);
	ck_assert(labels_equal(&copy, &flag));
	ck_assert(!labels_equal(&copy, &file));
	ck_assert_int_eq(labels_set(&copy, "env", "dev", true, err,
	    sizeof(err)), 0);
	ck_assert(!labels_equal(&copy, &flag));
	labels_release(&flag);
	labels_release(&file);
	labels_release(&copy);
}
END_TEST

START_TEST(test_parse_flag)
{
	struct labels ls;
	char err[256];

	labels_init(&ls);
	ck_assert_int_eq(labels_parse_flag(&ls, "a=b=c", err, sizeof(err)),
	    0);
	ck_assert_str_eq(labels_get(&ls, "a"), "b=c");
	ck_assert_int_eq(labels_parse_flag(&ls, "empty=", err, sizeof(err)),
	    0);
	ck_assert_str_eq(labels_get(&ls, "empty"), "");
	ck_assert_int_eq(labels_parse_flag(&ls, "novalue", err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "expected NAME=VALUE"));
	ck_assert_int_eq(labels_parse_flag(&ls, "=v", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--label label \"\": empty"));
	ck_assert_int_eq(labels_parse_flag(&ls, "a=again", err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
	ck_assert_int_eq(labels_parse_flag(&ls, "__scheme__=https", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "reserved"));
	labels_release(&ls);
}
END_TEST

START_TEST(test_format_hash)
{
	struct labels a, b;
	char err[128], ha[LABELS_HASH_HEX + 1], hb[LABELS_HASH_HEX + 1];
	char *s;

	labels_init(&a);
	labels_init(&b);
	s = labels_format(&a);
	ck_assert_str_eq(s, "{}");
	free(s);
	ck_assert_int_eq(labels_set(&a, "x", "q\"u\\o\nte", false, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(labels_set(&a, "b", "1", false, err, sizeof(err)),
	    0);
	ck_assert_int_eq(labels_set(&b, "b", "1", false, err, sizeof(err)),
	    0);
	ck_assert_int_eq(labels_set(&b, "x", "q\"u\\o\nte", false, err,
	    sizeof(err)), 0);
	s = labels_format(&a);
	ck_assert_str_eq(s, "{b=\"1\",x=\"q\\\"u\\\\o\\nte\"}");
	free(s);
	ck_assert_int_eq(labels_hash(&a, ha), 0);
	ck_assert_int_eq(labels_hash(&b, hb), 0);
	ck_assert_str_eq(ha, hb);
	ck_assert_uint_eq(strlen(ha), LABELS_HASH_HEX);
	ck_assert_int_eq(labels_set(&b, "b", "2", true, err, sizeof(err)), 0);
	ck_assert_int_eq(labels_hash(&b, hb), 0);
	ck_assert_str_ne(ha, hb);
	/* SHA-256("abc") = ba7816bf8f01cfea... */
	ck_assert_int_eq(labels_digest("abc", 3, ha), 0);
	ck_assert_str_eq(ha, "ba7816bf8f01cfea");
	labels_release(&a);
	labels_release(&b);
}
END_TEST

Suite *
labels_suite(void)
{
	Suite *s = suite_create("labels");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_set_errors);
	tcase_add_test(tc, test_count_cap);
	tcase_add_test(tc, test_sorted_get);
	tcase_add_test(tc, test_merge_precedence);
	tcase_add_test(tc, test_parse_flag);
	tcase_add_test(tc, test_format_hash);
	suite_add_tcase(s, tc);
	return s;
}
