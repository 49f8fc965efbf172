/* Unit tests for Prometheus durations (common/duration.c). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "duration.h"

static const struct {
	const char	*in;
	int64_t		 ms;
	const char	*out;	/* canonical form */
} duration_ok[] = {
	{ "0", 0, "0s" },
	{ "0s", 0, "0s" },
	{ "1ms", 1, "1ms" },
	{ "250ms", 250, "250ms" },
	{ "1s", 1000, "1s" },
	{ "90s", 90000, "1m30s" },
	{ "1m30s", 90000, "1m30s" },
	{ "1h30m", 5400000, "1h30m" },
	{ "1d", 86400000, "1d" },
	{ "7d", 604800000, "1w" },
	{ "1w", 604800000, "1w" },
	{ "8d", 691200000, "8d" },
	{ "1y", 31536000000LL, "1y" },
	{ "1y1d", 31622400000LL, "366d" },
	{ "2w3d", 1468800000, "17d" },
	{ "1y2w3d4h5m6s7ms", 33019506007LL, "382d4h5m6s7ms" },
	{ "01s", 1000, "1s" },
	{ "1h0m", 3600000, "1h" },
	{ "1500ms", 1500, "1s500ms" },
	{ "106751991167d7h12m55s807ms", INT64_MAX,
	    "106751991167d7h12m55s807ms" },
};

static const char *const duration_bad[] = {
	"", "1.5h", "h", "1m1h", "-1s", "9999999999999999999y", "1", "00",
	"1s1s", "1hh", "1 s", " 1s", "1s ", "1H", "1ms1s", "s1", "1x",
	"1mss", "+1s", "1e3s", "292471209y", "106751991167d7h12m55s808ms",
	"99999999999999999999ms",
};

START_TEST(test_duration_parse_ok)
{
	int64_t ms = -1;
	char out[64];

	ck_assert_msg(duration_parse(duration_ok[_i].in, &ms) == 0,
	    "rejected %s", duration_ok[_i].in);
	ck_assert_int_eq(ms, duration_ok[_i].ms);
	ck_assert_uint_eq(duration_format(ms, out, sizeof(out)),
	    strlen(duration_ok[_i].out));
	ck_assert_str_eq(out, duration_ok[_i].out);
	/* The formatted form must parse back to the same value. */
	ms = -1;
	ck_assert_int_eq(duration_parse(out, &ms), 0);
	ck_assert_int_eq(ms, duration_ok[_i].ms);
}
END_TEST

START_TEST(test_duration_parse_bad)
{
	int64_t ms = 12345;

	ck_assert_msg(duration_parse(duration_bad[_i], &ms) == -1,
	    "accepted \"%s\"", duration_bad[_i]);
	ck_assert_int_eq(ms, 12345);
}
END_TEST

START_TEST(test_duration_format_edge)
{
	char out[64], small[4];

	ck_assert_uint_eq(duration_format(-1500, out, sizeof(out)), 8);
	ck_assert_str_eq(out, "-1s500ms");
	duration_format(INT64_MIN, out, sizeof(out));
	ck_assert_str_eq(out, "-106751991167d7h12m55s808ms");
	/* Truncation keeps the output NUL-terminated. */
	ck_assert_uint_eq(duration_format(5400000, small, sizeof(small)), 3);
	ck_assert_str_eq(small, "1h3");
	ck_assert_uint_eq(duration_format(1, small, 0), 0);
}
END_TEST

START_TEST(test_duration_round_trip_many)
{
	int64_t v, ms;
	char out[64];

	for (v = 0; v < 100000000LL; v = v * 3 + 7) {
		duration_format(v, out, sizeof(out));
		ck_assert_int_eq(duration_parse(out, &ms), 0);
		ck_assert_int_eq(ms, v);
	}
}
END_TEST

START_TEST(test_duration_parse_seconds)
{
	int64_t ms = 0;

	ck_assert_int_eq(duration_parse_seconds("10", &ms), 0);
	ck_assert_int_eq(ms, 10000);
	ck_assert_int_eq(duration_parse_seconds("9.87", &ms), 0);
	ck_assert_int_eq(ms, 9870);
	ck_assert_int_eq(duration_parse_seconds("0.0005", &ms), 0);
	ck_assert_int_eq(ms, 1);
	ck_assert_int_eq(duration_parse_seconds("0.0014", &ms), 0);
	ck_assert_int_eq(ms, 1);
	ck_assert_int_eq(duration_parse_seconds("0.0016", &ms), 0);
	ck_assert_int_eq(ms, 2);
	ck_assert_int_eq(duration_parse_seconds("1e3", &ms), 0);
	ck_assert_int_eq(ms, 1000000);
	ms = 77;
	ck_assert_int_eq(duration_parse_seconds("", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("0", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("-1", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("abc", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("10s", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds(" 10", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("10 ", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("inf", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("nan", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("1e300", &ms), -1);
	ck_assert_int_eq(duration_parse_seconds("1e13", &ms), -1);
	ck_assert_int_eq(ms, 77);
}
END_TEST

START_TEST(test_duration_timeval)
{
	struct timeval tv;

	duration_to_timeval(1500, &tv);
	ck_assert_int_eq(tv.tv_sec, 1);
	ck_assert_int_eq(tv.tv_usec, 500000);
	duration_to_timeval(0, &tv);
	ck_assert_int_eq(tv.tv_sec, 0);
	ck_assert_int_eq(tv.tv_usec, 0);
	duration_to_timeval(-5, &tv);
	ck_assert_int_eq(tv.tv_sec, 0);
	ck_assert_int_eq(tv.tv_usec, 0);
}
END_TEST

Suite *
duration_suite(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_duration_parse_ok, 0,
	    sizeof(duration_ok) / sizeof(duration_ok[0]));
	tcase_add_loop_test(tc, test_duration_parse_bad, 0,
	    sizeof(duration_bad) / sizeof(duration_bad[0]));
	tcase_add_test(tc, test_duration_format_edge);
	tcase_add_test(tc, test_duration_round_trip_many);
	tcase_add_test(tc, test_duration_parse_seconds);
	tcase_add_test(tc, test_duration_timeval);
	suite_add_tcase(s, tc);
	return s;
}
