/* Unit tests for byte sizes (common/bytesize.c). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "bytesize.h"

static const struct {
	const char	*in;
	int64_t		 v;
	const char	*out;
} bytesize_ok[] = {
	{ "0", 0, "0B" },
	{ "0B", 0, "0B" },
	{ "1000", 1000, "1000B" },
	{ "1000B", 1000, "1000B" },
	{ "1024", 1024, "1KiB" },
	{ "64KiB", 65536, "64KiB" },
	{ "64KB", 65536, "64KiB" },
	{ "1536KiB", 1572864, "1536KiB" },
	{ "16MB", 16777216, "16MiB" },
	{ "256MiB", 268435456, "256MiB" },
	{ "1GiB", 1073741824, "1GiB" },
	{ "3GB", 3221225472LL, "3GiB" },
	{ "2TiB", 2199023255552LL, "2TiB" },
	{ "2048TB", 2251799813685248LL, "2048TiB" },
	{ "9223372036854775807", INT64_MAX, "9223372036854775807B" },
	{ "8388607TiB", 8388607LL << 40, "8388607TiB" },
};

static const char *const bytesize_bad[] = {
	"", "B", "KiB", "-1", "1.5MiB", "1 MiB", " 1", "1kb", "1kib", "1K",
	"1MiBs", "1PiB", "9223372036854775808", "8388608TiB",
	"99999999999999999999", "+1", "0x10",
};

START_TEST(test_bytesize_ok)
{
	int64_t v = -1;
	char out[64];

	ck_assert_msg(bytesize_parse(bytesize_ok[_i].in, &v) == 0,
	    "rejected %s", bytesize_ok[_i].in);
	ck_assert_int_eq(v, bytesize_ok[_i].v);
	ck_assert_uint_eq(bytesize_format(v, out, sizeof(out)),
	    strlen(bytesize_ok[_i].out));
	ck_assert_str_eq(out, bytesize_ok[_i].out);
	v = -1;
	ck_assert_int_eq(bytesize_parse(out, &v), 0);
	ck_assert_int_eq(v, bytesize_ok[_i].v);
}
END_TEST

START_TEST(test_bytesize_bad)
{
	int64_t v = 99;

	ck_assert_msg(bytesize_parse(bytesize_bad[_i], &v) == -1,
	    "accepted \"%s\"", bytesize_bad[_i]);
	ck_assert_int_eq(v, 99);
}
END_TEST

START_TEST(test_bytesize_format_edge)
{
	char out[64], small[4];

	bytesize_format(-2048, out, sizeof(out));
	ck_assert_str_eq(out, "-2KiB");
	bytesize_format(INT64_MIN, out, sizeof(out));
	ck_assert_str_eq(out, "-8388608TiB");
	bytesize_format(1LL << 50, out, sizeof(out));
	ck_assert_str_eq(out, "1024TiB");
	ck_assert_uint_eq(bytesize_format(65536, small, sizeof(small)), 3);
	ck_assert_str_eq(small, "64K");
	ck_assert_uint_eq(bytesize_format(1, small, 0), 0);
}
END_TEST

Suite *
bytesize_suite(void)
{
	Suite *s = suite_create("bytesize");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bytesize_ok, 0,
	    sizeof(bytesize_ok) / sizeof(bytesize_ok[0]));
	tcase_add_loop_test(tc, test_bytesize_bad, 0,
	    sizeof(bytesize_bad) / sizeof(bytesize_bad[0]));
	tcase_add_test(tc, test_bytesize_format_edge);
	suite_add_tcase(s, tc);
	return s;
}
