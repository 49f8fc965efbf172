/*
 * /clients output: valid file_sd / http_sd JSON, in the given order, and
 * never written for a name JSON would need to escape.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sd.h"

START_TEST(test_render)
{
	const char *names[] = { "a.example", "b-2.example", "127.0.0.1",
	    "::1" };
	json_error_t err;
	json_t *doc, *g;
	char *out;
	size_t i;

	out = sd_render(names, 0);
	ck_assert_str_eq(out, "[]");
	free(out);
	out = sd_render(names, 1);
	ck_assert_str_eq(out, "[{\"targets\":[\"a.example\"],\"labels\":{}}]");
	free(out);
	out = sd_render(names, 4);
	ck_assert_ptr_nonnull(doc = json_loads(out, JSON_REJECT_DUPLICATES,
	    &err));
	ck_assert_uint_eq(json_array_size(doc), 4);
	for (i = 0; i < 4; i++) {
		g = json_array_get(doc, i);
		ck_assert_str_eq(json_string_value(json_array_get(
		    json_object_get(g, "targets"), 0)), names[i]);
		ck_assert(json_is_object(json_object_get(g, "labels")));
		ck_assert_uint_eq(json_object_size(json_object_get(g,
		    "labels")), 0);
	}
	json_decref(doc);
	free(out);
}
END_TEST

START_TEST(test_refuses_unescaped)
{
	const char *bad[] = { "ok", "quote\"name" };
	const char *upper[] = { "Upper" };

	ck_assert_ptr_null(sd_render(bad, 2));
	ck_assert_ptr_null(sd_render(upper, 1));
}
END_TEST

Suite *
sd_suite(void)
{
	Suite *s = suite_create("sd");
	TCase *tc = tcase_create("render");

	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_refuses_unescaped);
	suite_add_tcase(s, tc);
	return s;
}
