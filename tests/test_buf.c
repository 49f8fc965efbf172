/* Unit tests for the capped buffer (common/buf.c). */
#include <check.h>
#include <string.h>

#include "buf.h"

START_TEST(test_buf_empty)
{
	struct buf b;

	buf_init(&b, 16);
	ck_assert_ptr_null(b.data);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_int_eq(buf_append(&b, "x", 0), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_append_grows)
{
	struct buf b;
	size_t i;

	buf_init(&b, 100000);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_eq(strlen(buf_cstr(&b)), 100000);
	ck_assert_int_eq(memcmp(b.data + 99990, "0123456789", 10), 0);
	ck_assert_uint_le(b.alloc, 100001);
	ck_assert_int_eq(buf_append(&b, "x", 1), -1);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_cap)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_puts(&b, "abcde"), 0);
	ck_assert_int_eq(buf_puts(&b, "fghi"), -1);
	ck_assert_str_eq(buf_cstr(&b), "abcde");
	ck_assert_uint_eq(b.len, 5);
	ck_assert_int_eq(buf_puts(&b, "fgh"), 0);
	ck_assert_str_eq(buf_cstr(&b), "abcdefgh");
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_int_eq(buf_append(&b, "z", 1), -1);
	ck_assert_uint_le(b.alloc, 9);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_printf)
{
	struct buf b;
	char big[300];

	buf_init(&b, 1000);
	ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
	ck_assert_str_eq(buf_cstr(&b), "42-x");
	/* Larger than the initial allocation: needs the second pass. */
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(buf_printf(&b, "[%s]", big), 0);
	ck_assert_uint_eq(b.len, 4 + 301);
	ck_assert_int_eq(b.data[4], '[');
	ck_assert_int_eq(b.data[b.len - 1], ']');
	ck_assert_int_eq(b.data[b.len], '\0');
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_printf_cap)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	/* Fits the allocation but not the cap: must fail and restore. */
	ck_assert_int_eq(buf_printf(&b, "%s", "12345678"), -1);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(buf_printf(&b, "%s", "1234567"), 0);
	ck_assert_str_eq(buf_cstr(&b), "abc1234567");
	ck_assert_int_eq(buf_printf(&b, "%c", 'x'), -1);
	ck_assert_str_eq(buf_cstr(&b), "abc1234567");
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_reset_release)
{
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_puts(&b, "hello"), 0);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_ptr_nonnull(b.data);
	ck_assert_int_eq(buf_puts(&b, "again"), 0);
	ck_assert_str_eq(buf_cstr(&b), "again");
	buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.max, 64);
	ck_assert_int_eq(buf_puts(&b, "reuse"), 0);
	ck_assert_str_eq(buf_cstr(&b), "reuse");
	buf_release(&b);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_binary_and_zero_cap)
{
	struct buf b;

	buf_init(&b, 4);
	ck_assert_int_eq(buf_append(&b, "a\0b", 3), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b", 4), 0);
	buf_release(&b);
	buf_init(&b, 0);
	ck_assert_int_eq(buf_append(&b, "a", 1), -1);
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_release(&b);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buf_empty);
	tcase_add_test(tc, test_buf_append_grows);
	tcase_add_test(tc, test_buf_cap);
	tcase_add_test(tc, test_buf_printf);
	tcase_add_test(tc, test_buf_printf_cap);
	tcase_add_test(tc, test_buf_reset_release);
	tcase_add_test(tc, test_buf_binary_and_zero_cap);
	suite_add_tcase(s, tc);
	return s;
}
