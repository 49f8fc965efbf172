/*
 * A man page (roff, man(7) macros) from a flag table: OPTIONS is rendered
 * from the same rows that drive parsing and --help (common/flags.h), so
 * the page cannot drift from the daemon; the prose around it (NAME line,
 * DESCRIPTION, SIGNALS, FILES, EXIT STATUS, SEE ALSO) comes from a
 * struct manpage_doc.  Every string, table row and prose alike, is plain
 * text: it is escaped here ('-' as "\-", '\' as "\e", a leading '.' or
 * '\'' guarded with "\&"), never passed through as roff.
 */
#ifndef PUSHPROX_MANPAGE_H
#define PUSHPROX_MANPAGE_H

#include <stddef.h>
#include <stdio.h>

#include "flags.h"

/* One tagged paragraph (.TP): "SIGHUP" and what it does. */
struct manpage_item {
	const char	*tag;
	const char	*text;
};

/* A section of prose, then tagged items (either may be empty). */
struct manpage_section {
	const char			*title;	/* "ENVIRONMENT" */
	const char			*text;	/* paragraphs split by "\n\n" */
	const struct manpage_item	*items;
	size_t				 nitems;
};

struct manpage_doc {
	int				 section;	/* 1 */
	const char			*date;		/* .TH date, or NULL */
	const char			*manual;	/* "PushProx Manual" */
	const char			*name_line; /* NULL: prog->summary */
	const char			*description;
	/* Sections after OPTIONS, in order (SIGNALS, FILES, EXIT STATUS). */
	const struct manpage_section	*sections;
	size_t				 nsections;
	/* "name(5)", NULL-ended */
	const char *const		*see_also;
};

/*
 * Writes the page for prog (its name and version) to out; 0, or -1 if a
 * write failed (out's error flag set).
 */
int manpage_write(const struct flag_def *table, size_t n,
    const struct flags_program *prog, const struct manpage_doc *doc,
    FILE *out);

/*
 * Writes s as roff text: '-', '\' and a leading '.' or '\'' escaped; a
 * single newline kept as a line break in the source, "\n\n" starting a
 * new paragraph (.PP).  Exported for the tests.
 */
void manpage_text_write(const char *s, FILE *out);

#endif
