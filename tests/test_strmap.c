/* Unit tests for the string-keyed hash map (common/strmap.c). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define NKEYS	100000

START_TEST(test_strmap_basic)
{
	struct strmap *m = strmap_new();
	int a = 1, b = 2;
	char key[8];

	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(strmap_count(m), 0);
	ck_assert_ptr_null(strmap_get(m, "x"));
	/* Keys are copied: changing the caller's buffer must not matter. */
	snprintf(key, sizeof(key), "x");
	ck_assert_int_eq(strmap_put(m, key, &a), 0);
	key[0] = 'y';
	ck_assert_ptr_eq(strmap_get(m, "x"), &a);
	ck_assert_ptr_null(strmap_get(m, "y"));
	ck_assert_int_eq(strmap_put(m, "x", &b), 0);
	ck_assert_uint_eq(strmap_count(m), 1);
	ck_assert_ptr_eq(strmap_get(m, "x"), &b);
	ck_assert_int_eq(strmap_put(m, "", &a), 0);
	ck_assert_ptr_eq(strmap_get(m, ""), &a);
	ck_assert_uint_eq(strmap_count(m), 2);
	ck_assert_ptr_eq(strmap_remove(m, "x"), &b);
	ck_assert_ptr_null(strmap_remove(m, "x"));
	ck_assert_ptr_null(strmap_get(m, "x"));
	ck_assert_uint_eq(strmap_count(m), 1);
	strmap_free(m);
	strmap_free(NULL);
}
END_TEST

START_TEST(test_strmap_many)
{
	struct strmap *m = strmap_new();
	char key[32];
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "node%zu.example", i);
		ck_assert_int_eq(strmap_put(m, key, (void *)(uintptr_t)(i + 1)),
		    0);
	}
	ck_assert_uint_eq(strmap_count(m), NKEYS);
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "node%zu.example", i);
		ck_assert_ptr_eq(strmap_get(m, key),
		    (void *)(uintptr_t)(i + 1));
	}
	/* Remove the even keys; the odd ones must survive intact. */
	for (i = 0; i < NKEYS; i += 2) {
		snprintf(key, sizeof(key), "node%zu.example", i);
		ck_assert_ptr_eq(strmap_remove(m, key),
		    (void *)(uintptr_t)(i + 1));
	}
	ck_assert_uint_eq(strmap_count(m), NKEYS / 2);
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "node%zu.example", i);
		if (i % 2 == 0)
			ck_assert_ptr_null(strmap_get(m, key));
		else
			ck_assert_ptr_eq(strmap_get(m, key),
			    (void *)(uintptr_t)(i + 1));
	}
	ck_assert_ptr_null(strmap_get(m, "node100000.example"));
	strmap_free(m);
}
END_TEST

struct strmap_tally {
	size_t	n;
	size_t	sum;
};

static void
strmap_tally_add(const char *key, void *val, void *arg)
{
	struct strmap_tally *t = arg;

	ck_assert_uint_eq(strtoul(key, NULL, 10), (uintptr_t)val);
	t->n++;
	t->sum += (uintptr_t)val;
}

START_TEST(test_strmap_foreach)
{
	struct strmap *m = strmap_new();
	struct strmap_tally t = { 0, 0 };
	char key[16];
	size_t i;

	for (i = 1; i <= 1000; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		ck_assert_int_eq(strmap_put(m, key, (void *)(uintptr_t)i), 0);
	}
	strmap_foreach(m, strmap_tally_add, &t);
	ck_assert_uint_eq(t.n, 1000);
	ck_assert_uint_eq(t.sum, 1000 * 1001 / 2);
	strmap_free(m);
}
END_TEST

Suite *
strmap_suite(void)
{
	Suite *s = suite_create("strmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_strmap_basic);
	tcase_add_test(tc, test_strmap_many);
	tcase_add_test(tc, test_strmap_foreach);
	suite_add_tcase(s, tc);
	return s;
}
