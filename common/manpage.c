/*
 * Renders a man(7) page from a flag table and a struct manpage_doc.  The
 * roff written is deliberately small: .TH, .SH, .PP, .TP, .B, .BI, .BR,
 * .RI and the font escapes \fB \fI \fR, all emitted by this file; every
 * string that comes from a table or a doc goes through manpage_escape_write
 * so that no help text can become a roff request or a stray escape.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "bytesize.h"
#include "duration.h"
#include "manpage.h"

#include <inttypes.h>

/*
 * Writes len bytes of s as roff.  In text (arg false) a '.' or '\'' at the
 * start of a line is guarded with "\&" so it is not read as a request; in
 * a quoted macro argument (arg true) '"' becomes "\(dq" and newlines are
 * spaces.
 */
static void
manpage_escape_write(const char *s, size_t len, bool arg, FILE *out)
{
	bool	 bol = !arg;
	size_t	 i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\n') {
			fputc(arg ? ' ' : '\n', out);
			bol = !arg;
			continue;
		}
		if (bol && (c == '.' || c == '\''))
			fputs("\\&", out);
		bol = false;
		if (c == '\\')
			fputs("\\e", out);
		else if (c == '-')
			fputs("\\-", out);
		else if (c == '"' && arg)
			fputs("\\(dq", out);
		else
			fputc(c, out);
	}
}

/* s as one quoted macro argument: "...". */
static void
manpage_arg_write(const char *s, FILE *out)
{
	fputc('"', out);
	manpage_escape_write(s, strlen(s), true, out);
	fputc('"', out);
}

void
manpage_text_write(const char *s, FILE *out)
{
	const char	*end, *next;
	bool		 first = true;

	while (*s == '\n')
		s++;
	while (*s != '\0') {
		if ((end = strstr(s, "\n\n")) == NULL)
			end = s + strlen(s);
		next = end;
		while (end > s && end[-1] == '\n')
			end--;
		if (!first)
			fputs(".PP\n", out);
		first = false;
		manpage_escape_write(s, (size_t)(end - s), false, out);
		fputc('\n', out);
		s = next;
		while (*s == '\n')
			s++;
	}
}

static const char *
manpage_type_name(const struct flag_def *row)
{
	switch (row->type) {
	case FLAG_STRING:
	case FLAG_STRINGS:
		return "string";
	case FLAG_BOOL:
		return "bool";
	case FLAG_INT:
		return "int";
	case FLAG_DURATION:
		return "duration";
	case FLAG_BYTES:
		return "bytes";
	case FLAG_ENUM:
		return "enum";
	}
	return "value";
}

/* A bound in the row's unit, as --help's range errors spell it. */
static void
manpage_num_format(const struct flag_def *row, int64_t v, char *buf,
    size_t len)
{
	if (row->type == FLAG_DURATION)
		duration_format(v, buf, len);
	else if (row->type == FLAG_BYTES)
		bytesize_format(v, buf, len);
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* "\fBvalue\fR" with value escaped. */
static void
manpage_bold_write(const char *s, FILE *out)
{
	fputs("\\fB", out);
	manpage_escape_write(s, strlen(s), false, out);
	fputs("\\fR", out);
}

/* The tag line of a row: ".BI "\-\-name=" type" or ".B \-\-[no\-]name". */
static void
manpage_option_tag_write(const struct flag_def *row, FILE *out)
{
	if (row->type == FLAG_BOOL) {
		fputs(".B \"\\-\\-[no\\-]", out);
		manpage_escape_write(row->name, strlen(row->name), true, out);
		fputs("\"\n", out);
		return;
	}
	fputs(".BI ", out);
	fputs("\"\\-\\-", out);
	manpage_escape_write(row->name, strlen(row->name), true, out);
	fputs("=\" ", out);
	manpage_arg_write(manpage_type_name(row), out);
	fputc('\n', out);
}

static void
manpage_option_write(const struct flag_def *row, FILE *out)
{
	char	 lo[64], hi[64];
	size_t	 i, hl;
	bool	 numeric;

	fputs(".TP\n", out);
	manpage_option_tag_write(row, out);
	if (row->help != NULL && (hl = strlen(row->help)) > 0) {
		manpage_escape_write(row->help, hl, false, out);
		if (row->help[hl - 1] != '.')
			fputc('.', out);
		fputc('\n', out);
	}
	if (row->type == FLAG_ENUM && row->choices != NULL) {
		fputs("One of:", out);
		for (i = 0; row->choices[i] != NULL; i++) {
			fputs(i > 0 ? ", " : " ", out);
			manpage_bold_write(row->choices[i], out);
		}
		fputs(".\n", out);
	}
	if (row->type == FLAG_STRINGS)
		fputs("Repeatable.\n", out);
	if (row->flags & FLAG_REQUIRED)
		fputs("Required.\n", out);
	numeric = row->type == FLAG_INT || row->type == FLAG_DURATION ||
	    row->type == FLAG_BYTES;
	if (numeric && !(row->min == 0 && row->max == 0)) {
		manpage_num_format(row, row->min, lo, sizeof(lo));
		manpage_num_format(row, row->max, hi, sizeof(hi));
		if (row->max == INT64_MAX) {
			fputs("At least ", out);
			manpage_bold_write(lo, out);
		} else if (row->min == INT64_MIN) {
			fputs("At most ", out);
			manpage_bold_write(hi, out);
		} else {
			fputs("From ", out);
			manpage_bold_write(lo, out);
			fputs(" to ", out);
			manpage_bold_write(hi, out);
		}
		fputs(".\n", out);
	}
	if (row->def != NULL && row->def[0] != '\0') {
		fputs("Default: ", out);
		manpage_bold_write(row->def, out);
		fputs(".\n", out);
	} else if (row->def != NULL)
		fputs("Default: empty (not set).\n", out);
}

static void
manpage_synopsis_write(const struct flag_def *table, size_t n,
    const struct flags_program *prog, FILE *out)
{
	size_t	 i;

	fputs(".SH SYNOPSIS\n.B ", out);
	manpage_arg_write(prog->name, out);
	fputc('\n', out);
	for (i = 0; i < n; i++) {
		if (!(table[i].flags & FLAG_REQUIRED) || table[i].def != NULL)
			continue;
		manpage_option_tag_write(&table[i], out);
	}
	fputs(".RI [ flags ]\n", out);
}

static void
manpage_section_write(const struct manpage_section *sec, FILE *out)
{
	size_t	 i;

	fputs(".SH ", out);
	manpage_arg_write(sec->title, out);
	fputc('\n', out);
	if (sec->text != NULL)
		manpage_text_write(sec->text, out);
	for (i = 0; i < sec->nitems; i++) {
		fputs(".TP\n.B ", out);
		manpage_arg_write(sec->items[i].tag, out);
		fputc('\n', out);
		manpage_text_write(sec->items[i].text, out);
	}
}

/* "name(5)" as ".BR name (5)" followed by a comma unless last. */
static void
manpage_see_also_write(const char *const *refs, FILE *out)
{
	const char	*p;
	size_t		 i;

	fputs(".SH \"SEE ALSO\"\n", out);
	for (i = 0; refs[i] != NULL; i++) {
		fputs(".BR ", out);
		if ((p = strchr(refs[i], '(')) == NULL)
			p = refs[i] + strlen(refs[i]);
		fputc('"', out);
		manpage_escape_write(refs[i], (size_t)(p - refs[i]), true, out);
		fputs("\" ", out);
		fputc('"', out);
		manpage_escape_write(p, strlen(p), true, out);
		fputs(refs[i + 1] != NULL ? ",\"\n" : "\"\n", out);
	}
}

int
manpage_write(const struct flag_def *table, size_t n,
    const struct flags_program *prog, const struct manpage_doc *doc,
    FILE *out)
{
	char		 title[128], footer[160];
	const char	*name_line;
	size_t		 i;

	for (i = 0; prog->name[i] != '\0' && i < sizeof(title) - 1; i++)
		title[i] = (char)toupper((unsigned char)prog->name[i]);
	title[i] = '\0';
	snprintf(footer, sizeof(footer), "pushprox %s",
	    prog->version != NULL ? prog->version : "");

	fputs(".\\\" Generated from the flag table by common/manpage.c; "
	    "do not edit.\n", out);
	fputs(".TH ", out);
	manpage_arg_write(title, out);
	fprintf(out, " %d ", doc->section > 0 ? doc->section : 1);
	manpage_arg_write(doc->date != NULL ? doc->date : "", out);
	fputc(' ', out);
	manpage_arg_write(footer, out);
	fputc(' ', out);
	manpage_arg_write(doc->manual != NULL ? doc->manual : "", out);
	fputc('\n', out);

	name_line = doc->name_line != NULL ? doc->name_line : prog->summary;
	fputs(".SH NAME\n", out);
	manpage_escape_write(prog->name, strlen(prog->name), false, out);
	fputs(" \\- ", out);
	if (name_line != NULL)
		manpage_escape_write(name_line, strlen(name_line), true, out);
	fputc('\n', out);

	manpage_synopsis_write(table, n, prog, out);

	if (doc->description != NULL) {
		fputs(".SH DESCRIPTION\n", out);
		manpage_text_write(doc->description, out);
	}

	fputs(".SH OPTIONS\n", out);
	fputs("Flags take a value as \\fB\\-\\-flag=value\\fR or "
	    "\\fB\\-\\-flag value\\fR.\n", out);
	fputs("Durations are written as Prometheus writes them "
	    "(\\fB500ms\\fR, \\fB30s\\fR, \\fB1m30s\\fR);\n", out);
	fputs("sizes in bytes with an optional binary unit "
	    "(\\fB16KiB\\fR, \\fB256MiB\\fR).\n", out);
	for (i = 0; i < n; i++)
		manpage_option_write(&table[i], out);
	fputs(".TP\n.B \\-\\-help\nShow the flags and exit.\n", out);
	fputs(".TP\n.B \\-\\-version\nShow the version and exit.\n", out);

	for (i = 0; i < doc->nsections; i++)
		manpage_section_write(&doc->sections[i], out);
	if (doc->see_also != NULL && doc->see_also[0] != NULL)
		manpage_see_also_write(doc->see_also, out);

	fflush(out);
	return ferror(out) ? -1 : 0;
}
