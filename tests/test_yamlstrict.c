/*
 * The strict YAML helpers shared by the web config and targets file
 * parsers: loading, the one error (first wins, with file, line and key),
 * scalars, null spellings, known and unique keys, relative paths.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yamlstrict.h"

static char dir[] = "/tmp/pushprox-yamlstrict-XXXXXX";
static char path[256];
static char err[512];
static struct yamlstrict ys;

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.yml", dir);
	err[0] = '\0';
}

static void
teardown(void)
{
	char cmd[256];

	yamlstrict_close(&ys);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

/* Loads text; returns the root node. */
static yaml_node_t *
load(const char *text)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(yamlstrict_load(&ys, path, 1 << 20, "1 MiB", err,
	    sizeof(err)) == 0, "load: %s", err);
	return yaml_document_get_root_node(&ys.document);
}

/* The value of the pair'th pair of map. */
static yaml_node_t *
value(yaml_node_t *map, int pair)
{
	return yamlstrict_node(&ys, map->data.mapping.pairs.start[pair].value);
}

static void
err_is(const char *suffix)
{
	char want[600];

	snprintf(want, sizeof(want), "%s: %s", path, suffix);
	ck_assert_str_eq(err, want);
}

START_TEST(test_first_error_wins)
{
	yaml_node_t *root = load("a: 1\nb: 2\n");

	ck_assert_int_eq(yamlstrict_fail(&ys, value(root, 1), "b",
	    "bad %d", 2), -1);
	ck_assert_int_eq(ys.failed, 1);
	ck_assert_int_eq(yamlstrict_fail(&ys, value(root, 0), "a", "later"),
	    -1);
	err_is("line 2: b: bad 2");
}
END_TEST

START_TEST(test_fail_forms)
{
	yaml_node_t *root = load("\n\nkey: value\n");

	yamlstrict_fail(&ys, root, NULL, "no key");
	err_is("line 3: no key");
	ys.failed = 0;
	yamlstrict_fail(&ys, NULL, "k", "no node");
	err_is("line 0: k: no node");
	ys.failed = 0;
	ys.whymax = 4;
	yamlstrict_fail(&ys, NULL, NULL, "abcdef");
	err_is("line 0: abc");
}
END_TEST

START_TEST(test_scalars_and_nulls)
{
	yaml_node_t *root = load("s: text\nseq: [1]\nmap: {a: 1}\n"
	    "e:\nn: null\nt: ~\nq: \"null\"\nsq: ''\n");

	ck_assert_str_eq(yamlstrict_scalar(value(root, 0)), "text");
	ck_assert_ptr_null(yamlstrict_scalar(value(root, 1)));
	ck_assert_ptr_null(yamlstrict_scalar(value(root, 2)));
	ck_assert_ptr_null(yamlstrict_scalar(NULL));
	ck_assert(!yamlstrict_is_null(value(root, 0)));
	ck_assert(!yamlstrict_is_null(value(root, 1)));
	ck_assert(yamlstrict_is_null(value(root, 3)));
	ck_assert(yamlstrict_is_null(value(root, 4)));
	ck_assert(yamlstrict_is_null(value(root, 5)));
	/* quoted: text, not null; but its text is a null spelling */
	ck_assert(!yamlstrict_is_null(value(root, 6)));
	ck_assert(!yamlstrict_is_null(value(root, 7)));
	ck_assert(yamlstrict_null_text(yamlstrict_scalar(value(root, 6))));
	ck_assert(yamlstrict_null_text(""));
	ck_assert(yamlstrict_null_text("~"));
	ck_assert(!yamlstrict_null_text("Null"));
	ck_assert(!yamlstrict_null_text(NULL));
	ck_assert_ptr_null(yamlstrict_get(&ys, root, "e"));
	ck_assert_ptr_null(yamlstrict_get(&ys, root, "absent"));
	ck_assert_str_eq(yamlstrict_scalar(yamlstrict_get(&ys, root, "q")),
	    "null");
	ck_assert_int_eq(ys.failed, 0);
}
END_TEST

START_TEST(test_duplicate_key)
{
	yaml_node_t *root = load("a: 1\nb: 2\na: 3\nb: 4\n");

	ck_assert_int_eq(yamlstrict_unique_keys(&ys, root), -1);
	err_is("line 3: a: duplicate key");
}
END_TEST

START_TEST(test_keys)
{
	static const char *const known[] = { "a", "b", NULL };
	yaml_node_t *root;

	root = load("a: 1\nb: 2\n");
	ck_assert_int_eq(yamlstrict_keys(&ys, root, "top", known, "a, b"), 0);
	yamlstrict_close(&ys);

	root = load("a: 1\nc: 2\na: 3\n");
	ck_assert_int_eq(yamlstrict_keys(&ys, root, "top", known, "a, b"),
	    -1);
	err_is("line 2: c: unknown key in top (known: a, b)");
	yamlstrict_close(&ys);

	root = load("b: 1\nb: 2\n");
	ck_assert_int_eq(yamlstrict_keys(&ys, root, "top", known, "a, b"),
	    -1);
	err_is("line 2: b: duplicate key");
	yamlstrict_close(&ys);

	root = load("[1, 2]\n");
	ck_assert_int_eq(yamlstrict_keys(&ys, root, "top", known, "a, b"),
	    -1);
	err_is("line 1: top: must be a mapping (a, b)");
	yamlstrict_close(&ys);

	root = load("? [x]\n: 1\n");
	ck_assert_int_eq(yamlstrict_keys(&ys, root, "top", known, "a, b"),
	    -1);
	err_is("line 1: top: keys must be text");
}
END_TEST

START_TEST(test_path)
{
	yaml_node_t *root = load("rel: sub/x\nabs: /etc/x\nempty: ''\n");
	char *out = NULL, want[300];

	ck_assert_int_eq(yamlstrict_path(&ys, value(root, 0), "rel",
	    "must be a path", &out), 0);
	snprintf(want, sizeof(want), "%s/sub/x", dir);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(yamlstrict_path(&ys, value(root, 1), "abs",
	    "must be a path", &out), 0);
	ck_assert_str_eq(out, "/etc/x");
	ck_assert_int_eq(yamlstrict_path(&ys, value(root, 2), "empty",
	    "must be a path", &out), -1);
	err_is("line 3: empty: must be a path");
	free(out);
}
END_TEST

START_TEST(test_load_errors)
{
	FILE *f;

	ck_assert_int_eq(yamlstrict_load(&ys, "/nonexistent/f.yml", 100,
	    "100 bytes", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/f.yml: cannot open: "));

	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs("a: [1, 2\n", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(yamlstrict_load(&ys, path, 4, "4 bytes", err,
	    sizeof(err)), -1);
	err_is("cannot read, or larger than 4 bytes");
	ck_assert_int_eq(yamlstrict_load(&ys, path, 100, "100 bytes", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ": line 2: invalid YAML: "));

	ck_assert_ptr_null(load(""));
}
END_TEST

Suite *
yamlstrict_suite(void)
{
	Suite *s = suite_create("yamlstrict");
	TCase *tc = tcase_create("yamlstrict");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_first_error_wins);
	tcase_add_test(tc, test_fail_forms);
	tcase_add_test(tc, test_scalars_and_nulls);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_path);
	tcase_add_test(tc, test_load_errors);
	suite_add_tcase(s, tc);
	return s;
}
