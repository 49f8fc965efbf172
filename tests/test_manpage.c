/*
 * Unit tests for the man page renderer (common/manpage.c): a small flag
 * table rendered to memory, each row's tag, help, choices, range and
 * default found in the roff; hostile text ('-', '\', a leading '.' or
 * '\'', quotes, paragraph breaks) escaped so that no line of the output is
 * a request the renderer did not write itself.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manpage.h"

static const char *const manpage_test_choices[] = { "none", "a-b", NULL };

static const struct flag_def manpage_test_table[] = {
	{ "web.listen-address", FLAG_STRING, ":8080", 0, 0, NULL, 0,
	  FLAG_REQUIRED, "Address to listen on" },
	{ "url", FLAG_STRING, NULL, 0, 0, NULL, 0, FLAG_REQUIRED,
	  "The URL." },
	{ "poll.timeout", FLAG_DURATION, "30s", 100, 24LL * 3600 * 1000, NULL,
	  0, 0, "A back\\slash and -dashes" },
	{ "max-size", FLAG_BYTES, "256MiB", 1024, 1LL << 30, NULL, 0, 0,
	  ".TH injected" },
	{ "count", FLAG_INT, "16", 1, 100000, NULL, 0, 0,
	  "'quoted start" },
	{ "mode", FLAG_ENUM, "none", 0, 0, manpage_test_choices, 0, 0,
	  "Mode \"q\"" },
	{ "allow", FLAG_STRINGS, NULL, 0, 0, NULL, 0, 0, "Repeat me" },
	{ "verbose", FLAG_BOOL, "false", 0, 0, NULL, 0, 0, "Talk" },
	{ "file", FLAG_STRING, "", 0, 0, NULL, 0, 0, "A file" },
};

static const struct manpage_item manpage_test_items[] = {
	{ "SIGHUP", "Reloads.\n.so /etc/passwd" },
	{ "-x", "dash tag" },
};

static const struct manpage_section manpage_test_sections[] = {
	{ "EXIT STATUS", "First para.\n\nSecond para.", manpage_test_items,
	  2 },
};

static const char *const manpage_test_refs[] = { "foo-bar(1)", "baz(5)",
	NULL };

static char *
manpage_render(void)
{
	struct flags_program	 prog = { "pushprox-test", "1.2-3",
	    "a test" };
	struct manpage_doc	 doc = {
		.section = 1, .date = "2024-01-02", .manual = "Test Manual",
		.description = "\nLine one\n'apostrophe line\n\n.dot para\n\n",
		.sections = manpage_test_sections, .nsections = 1,
		.see_also = manpage_test_refs,
	};
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	ck_assert_ptr_nonnull(f = open_memstream(&buf, &len));
	ck_assert_int_eq(manpage_write(manpage_test_table,
	    sizeof(manpage_test_table) / sizeof(manpage_test_table[0]),
	    &prog, &doc, f), 0);
	fclose(f);
	return buf;
}

static bool
manpage_has(const char *page, const char *s)
{
	return strstr(page, s) != NULL;
}

START_TEST(test_manpage_header)
{
	char	*p = manpage_render();

	ck_assert_msg(manpage_has(p, ".TH \"PUSHPROX\\-TEST\" 1 "
	    "\"2024\\-01\\-02\" \"pushprox 1.2\\-3\" \"Test Manual\"\n"),
	    "%s", p);
	ck_assert(manpage_has(p, ".SH NAME\npushprox\\-test \\- a test\n"));
	/* Only a required flag without a default is in the synopsis. */
	ck_assert(manpage_has(p, ".SH SYNOPSIS\n.B \"pushprox\\-test\"\n"
	    ".BI \"\\-\\-url=\" \"string\"\n.RI [ flags ]\n"));
	free(p);
}
END_TEST

START_TEST(test_manpage_options)
{
	char	*p = manpage_render();

	ck_assert_msg(manpage_has(p, ".TP\n.BI \"\\-\\-web.listen\\-address=\" "
	    "\"string\"\nAddress to listen on.\nRequired.\n"
	    "Default: \\fB:8080\\fR.\n"), "%s", p);
	ck_assert(manpage_has(p, "From \\fB100ms\\fR to \\fB1d\\fR.\n"
	    "Default: \\fB30s\\fR.\n"));
	ck_assert(manpage_has(p, "From \\fB1KiB\\fR to \\fB1GiB\\fR.\n"));
	ck_assert(manpage_has(p, "From \\fB1\\fR to \\fB100000\\fR.\n"));
	ck_assert(manpage_has(p, "One of: \\fBnone\\fR, \\fBa\\-b\\fR.\n"));
	ck_assert(manpage_has(p, "Repeat me.\nRepeatable.\n"));
	ck_assert(manpage_has(p, ".B \"\\-\\-[no\\-]verbose\"\nTalk.\n"));
	ck_assert(manpage_has(p, "A file.\nDefault: empty (not set).\n"));
	ck_assert(manpage_has(p, ".TP\n.B \\-\\-help\n"));
	ck_assert(manpage_has(p, ".TP\n.B \\-\\-version\n"));
	free(p);
}
END_TEST

START_TEST(test_manpage_escaping)
{
	char	*p = manpage_render();

	ck_assert_msg(manpage_has(p, "A back\\eslash and \\-dashes.\n"), "%s",
	    p);
	ck_assert(manpage_has(p, "\n\\&.TH injected.\n"));
	ck_assert(manpage_has(p, "\n\\&'quoted start.\n"));
	ck_assert(manpage_has(p, "\nMode \"q\".\n"));
	ck_assert(manpage_has(p, "\nReloads.\n\\&.so /etc/passwd\n"));
	ck_assert(manpage_has(p, ".TP\n.B \"\\-x\"\ndash tag\n"));
	free(p);
}
END_TEST

START_TEST(test_manpage_prose)
{
	char	*p = manpage_render();

	ck_assert_msg(manpage_has(p, ".SH DESCRIPTION\nLine one\n"
	    "\\&'apostrophe line\n.PP\n\\&.dot para\n.SH OPTIONS\n"), "%s", p);
	ck_assert(manpage_has(p, ".SH \"EXIT STATUS\"\nFirst para.\n.PP\n"
	    "Second para.\n.TP\n"));
	ck_assert(manpage_has(p, ".SH \"SEE ALSO\"\n.BR \"foo\\-bar\" "
	    "\"(1),\"\n.BR \"baz\" \"(5)\"\n"));
	free(p);
}
END_TEST

/* Every request line is one the renderer writes; no blank lines. */
START_TEST(test_manpage_only_own_requests)
{
	static const char *const ok[] = { ".\\\" ", ".TH ", ".SH ", ".PP\n",
	    ".TP\n", ".B ", ".BI ", ".BR ", ".RI ", NULL };
	char	*p = manpage_render(), *line, *nl;
	size_t	 i;

	for (line = p; *line != '\0'; line = nl + 1) {
		ck_assert_ptr_nonnull(nl = strchr(line, '\n'));
		ck_assert_msg(nl != line, "blank line in:\n%s", p);
		if (*line != '.' && *line != '\'')
			continue;
		for (i = 0; ok[i] != NULL; i++)
			if (strncmp(line, ok[i], strlen(ok[i])) == 0)
				break;
		ck_assert_msg(ok[i] != NULL, "unexpected request: %.*s",
		    (int)(nl - line), line);
	}
	free(p);
}
END_TEST

START_TEST(test_manpage_text_write)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	ck_assert_ptr_nonnull(f = open_memstream(&buf, &len));
	manpage_text_write("a\\b-c\n\n\n.d", f);
	fclose(f);
	ck_assert_str_eq(buf, "a\\eb\\-c\n.PP\n\\&.d\n");
	free(buf);
}
END_TEST

Suite *
manpage_suite(void)
{
	Suite	*s = suite_create("manpage");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_manpage_header);
	tcase_add_test(tc, test_manpage_options);
	tcase_add_test(tc, test_manpage_escaping);
	tcase_add_test(tc, test_manpage_prose);
	tcase_add_test(tc, test_manpage_only_own_requests);
	tcase_add_test(tc, test_manpage_text_write);
	suite_add_tcase(s, tc);
	return s;
}
