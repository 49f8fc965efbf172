/* Unit tests for the x* allocators (common/xmalloc.c). */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlog.h"
#include "xmalloc.h"

START_TEST(test_xmalloc_ok)
{
	char	*p = xmalloc(0, "test");
	int	*v = xcalloc(4, sizeof(int), "test");
	char	*s = xstrdup("abc", "test");

	ck_assert_int_eq(v[0] + v[3], 0);
	v = xreallocarray(v, 8, sizeof(int), "test");
	v[7] = 1;
	ck_assert_str_eq(s, "abc");
	free(p);
	free(v);
	free(s);
}
END_TEST

/* An impossible size is fatal (abort), never a NULL return. */
START_TEST(test_xmalloc_overflow_fatal)
{
	void	*p;

	test_expect_log(LOG_LEVEL_ERROR, "out of memory: test overflow");
	p = xreallocarray(NULL, SIZE_MAX, 2, "test overflow");

	free(p);
}
END_TEST

Suite *
xmalloc_suite(void)
{
	Suite	*s = suite_create("xmalloc");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_xmalloc_ok);
	tcase_add_test_raise_signal(tc, test_xmalloc_overflow_fatal, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
