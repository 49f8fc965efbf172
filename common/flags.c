/*
 * Table-driven flag parsing.  A row's default is fed through the same
 * value parser as the command line, so defaults are written in flag syntax
 * and a bad default fails loudly instead of silently.  Parsing is strict:
 * numbers must be consumed completely and fit, durations and sizes use
 * their own parsers, and range errors quote the bounds in flag syntax so
 * the user can copy them.  A row with min == max == 0 has no range.
 *
 * flags_parse first clears every field the table names (never freeing
 * what was there, so the config need not be initialised); string storage
 * is then owned by the config.  On FLAGS_ERROR or FLAGS_EXIT it releases
 * what it stored, so callers may always call flags_free, any number of
 * times.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bytesize.h"
#include "duration.h"
#include "flags.h"
#include "xmalloc.h"

struct flags_ctx {
	const struct flag_def		*table;
	size_t				 n;
	void				*cfg;
	const struct flags_program	*prog;
	FILE				*err;
	bool				*seen;	/* given on the command line */
	bool				*set;	/* has any value */
};

#define FLAGS_FIELD(cfg, row, type) \
	((type *)(void *)((char *)(cfg) + (row)->offset))

static void flags_error(struct flags_ctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
flags_error(struct flags_ctx *c, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(c->err, "%s: ", c->prog->name);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fprintf(c->err, "\nTry '%s --help'.\n", c->prog->name);
}

static bool
flags_unbounded_check(const struct flag_def *row)
{
	return row->min == 0 && row->max == 0;
}

static void
flags_num_format(const struct flag_def *row, int64_t v, char *buf,
    size_t len)
{
	if (row->type == FLAG_DURATION)
		duration_format(v, buf, len);
	else if (row->type == FLAG_BYTES)
		bytesize_format(v, buf, len);
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* Writes why v is outside the row's range into why; 0 if inside. */
static int
flags_range_check(const struct flag_def *row, int64_t v, char *why,
    size_t len)
{
	char	 lo[64], hi[64];

	if (flags_unbounded_check(row) || (v >= row->min && v <= row->max))
		return 0;
	flags_num_format(row, row->min, lo, sizeof(lo));
	flags_num_format(row, row->max, hi, sizeof(hi));
	if (row->max == INT64_MAX)
		snprintf(why, len, "must be at least %s", lo);
	else if (row->min == INT64_MIN)
		snprintf(why, len, "must be at most %s", hi);
	else
		snprintf(why, len, "must be between %s and %s", lo, hi);
	return -1;
}

static int
flags_bool_parse(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "TRUE", "True", "t", "T",
	    "1", NULL };
	static const char *const no[] = { "false", "FALSE", "False", "f",
	    "F", "0", NULL };
	size_t	 i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
	}
	for (i = 0; no[i] != NULL; i++) {
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
flags_int_parse(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

static void
flags_choices_format(const struct flag_def *row, char *buf, size_t len)
{
	size_t	 i, off = 0;
	int	 w;

	buf[0] = '\0';
	for (i = 0; row->choices != NULL && row->choices[i] != NULL; i++) {
		w = snprintf(buf + off, len - off, "%s%s", i > 0 ? ", " : "",
		    row->choices[i]);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
}

/* Flags are parsed at start-up only: out of memory is fatal there. */
static void
flags_strings_push(struct flag_strings *fs, const char *val)
{
	fs->v = xreallocarray(fs->v, fs->n + 1, sizeof(*fs->v),
	    "a list flag's values");
	fs->v[fs->n++] = xstrdup(val, "a list flag's value");
}

static void
flags_strings_clear(struct flag_strings *fs)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		free(fs->v[i]);
	free(fs->v);
	fs->v = NULL;
	fs->n = 0;
}

/*
 * Stores val for row i; on error prints the message and returns -1.  A
 * bad default is a bug in the table, reported as such.
 */
static int
flags_value_set(struct flags_ctx *c, size_t i, const char *val,
    bool is_default)
{
	const struct flag_def	*row = &c->table[i];
	const char		*what = is_default ? "default" : "value";
	const char		*why = NULL;
	char			 buf[512], *dup;
	int64_t			 v;
	bool			 b;
	size_t			 k;

	switch (row->type) {
	case FLAG_STRING:
		dup = xstrdup(val, "a string flag's value");
		free(*FLAGS_FIELD(c->cfg, row, char *));
		*FLAGS_FIELD(c->cfg, row, char *) = dup;
		break;
	case FLAG_STRINGS:
		/* Given values replace the default rather than add to it. */
		if (!is_default && !c->seen[i])
			flags_strings_clear(FLAGS_FIELD(c->cfg, row,
			    struct flag_strings));
		flags_strings_push(FLAGS_FIELD(c->cfg, row,
		    struct flag_strings), val);
		break;
	case FLAG_BOOL:
		if (flags_bool_parse(val, &b) == -1) {
			why = "not a boolean (true or false)";
			break;
		}
		*FLAGS_FIELD(c->cfg, row, bool) = b;
		break;
	case FLAG_INT:
	case FLAG_DURATION:
	case FLAG_BYTES:
		if (row->type == FLAG_INT && flags_int_parse(val, &v) == -1)
			why = "not an integer";
		else if (row->type == FLAG_DURATION &&
		    duration_parse(val, &v) == -1)
			why = "not a duration (examples: 15s, 1m30s, 250ms)";
		else if (row->type == FLAG_BYTES &&
		    bytesize_parse(val, &v) == -1)
			why = "not a size (examples: 512KiB, 64MiB, 1GiB)";
		else if (flags_range_check(row, v, buf, sizeof(buf)) == -1)
			why = buf;
		else
			*FLAGS_FIELD(c->cfg, row, int64_t) = v;
		break;
	case FLAG_ENUM:
		for (k = 0; row->choices != NULL && row->choices[k] != NULL;
		    k++) {
			if (strcmp(val, row->choices[k]) == 0)
				break;
		}
		if (row->choices == NULL || row->choices[k] == NULL) {
			char	 list[400];

			flags_choices_format(row, list, sizeof(list));
			snprintf(buf, sizeof(buf), "must be one of: %s", list);
			why = buf;
			break;
		}
		*FLAGS_FIELD(c->cfg, row, int) = (int)k;
		break;
	}
	if (why != NULL) {
		flags_error(c, "invalid %s \"%s\" for flag --%s: %s", what,
		    val, row->name, why);
		return -1;
	}
	c->set[i] = true;
	if (!is_default)
		c->seen[i] = true;
	return 0;
}

static const struct flag_def *
flags_row_find(const struct flag_def *table, size_t n, const char *name,
    size_t len, size_t *idx)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strlen(table[i].name) == len &&
		    strncmp(table[i].name, name, len) == 0) {
			*idx = i;
			return &table[i];
		}
	}
	return NULL;
}

/* Handles the flag at argv[*i]; returns FLAGS_OK to go on. */
static enum flags_result
flags_arg_parse(struct flags_ctx *c, int argc, char **argv, int *i,
    FILE *out)
{
	const char		*a = argv[*i], *name, *eq, *val;
	const struct flag_def	*row;
	size_t			 len, idx = 0;
	bool			 negated = false;

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		flags_usage(c->table, c->n, c->prog, out);
		return FLAGS_EXIT;
	}
	if (strcmp(a, "--version") == 0) {
		fprintf(out, "%s version %s\n", c->prog->name,
		    c->prog->version);
		return FLAGS_EXIT;
	}
	if (a[0] != '-' || a[1] == '\0') {
		flags_error(c, "unexpected argument \"%s\"", a);
		return FLAGS_ERROR;
	}
	if (a[1] != '-') {
		flags_error(c, "unknown flag %s (flags start with --)", a);
		return FLAGS_ERROR;
	}
	name = a + 2;
	eq = strchr(name, '=');
	len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	row = flags_row_find(c->table, c->n, name, len, &idx);
	if (row == NULL && len > 3 && strncmp(name, "no-", 3) == 0) {
		row = flags_row_find(c->table, c->n, name + 3, len - 3, &idx);
		if (row != NULL && row->type != FLAG_BOOL)
			row = NULL;
		negated = row != NULL;
	}
	if (row == NULL) {
		flags_error(c, "unknown flag --%.*s", (int)len, name);
		return FLAGS_ERROR;
	}
	if (negated) {
		if (eq != NULL) {
			flags_error(c, "flag --%.*s does not take a value",
			    (int)len, name);
			return FLAGS_ERROR;
		}
		val = "false";
	} else if (eq != NULL)
		val = eq + 1;
	else if (row->type == FLAG_BOOL)
		val = "true";
	else if (*i + 1 < argc)
		val = argv[++*i];
	else {
		flags_error(c, "flag --%s needs a value", row->name);
		return FLAGS_ERROR;
	}
	if (flags_value_set(c, idx, val, false) == -1)
		return FLAGS_ERROR;
	return FLAGS_OK;
}

static bool
flags_missing_check(const struct flags_ctx *c, size_t i)
{
	const struct flag_def	*row = &c->table[i];
	const char		*s;

	if (!c->set[i])
		return true;
	if (row->type == FLAG_STRING) {
		s = *FLAGS_FIELD(c->cfg, row, char *);
		return s == NULL || *s == '\0';
	}
	if (row->type == FLAG_STRINGS)
		return FLAGS_FIELD(c->cfg, row, struct flag_strings)->n == 0;
	return false;
}

static enum flags_result
flags_run(struct flags_ctx *c, int argc, char **argv, FILE *out)
{
	enum flags_result	 r;
	size_t			 i;
	int			 ai;

	for (i = 0; i < c->n; i++) {
		if (c->table[i].def != NULL &&
		    flags_value_set(c, i, c->table[i].def, true) == -1)
			return FLAGS_ERROR;
	}
	for (ai = 1; ai < argc; ai++) {
		if (strcmp(argv[ai], "--") == 0) {
			if (ai + 1 < argc) {
				flags_error(c, "unexpected argument \"%s\"",
				    argv[ai + 1]);
				return FLAGS_ERROR;
			}
			break;
		}
		if ((r = flags_arg_parse(c, argc, argv, &ai, out)) != FLAGS_OK)
			return r;
	}
	for (i = 0; i < c->n; i++) {
		if ((c->table[i].flags & FLAG_REQUIRED) &&
		    flags_missing_check(c, i)) {
			flags_error(c, "missing required flag --%s",
			    c->table[i].name);
			return FLAGS_ERROR;
		}
	}
	return FLAGS_OK;
}

/* Rows without a default start out zero, false, NULL or empty. */
static void
flags_field_clear(const struct flag_def *row, void *cfg)
{
	switch (row->type) {
	case FLAG_STRING:
		*FLAGS_FIELD(cfg, row, char *) = NULL;
		break;
	case FLAG_STRINGS:
		FLAGS_FIELD(cfg, row, struct flag_strings)->v = NULL;
		FLAGS_FIELD(cfg, row, struct flag_strings)->n = 0;
		break;
	case FLAG_BOOL:
		*FLAGS_FIELD(cfg, row, bool) = false;
		break;
	case FLAG_INT:
	case FLAG_DURATION:
	case FLAG_BYTES:
		*FLAGS_FIELD(cfg, row, int64_t) = 0;
		break;
	case FLAG_ENUM:
		*FLAGS_FIELD(cfg, row, int) = 0;
		break;
	}
}

enum flags_result
flags_parse(const struct flag_def *table, size_t n, void *cfg,
    const struct flags_program *prog, int argc, char **argv, FILE *out,
    FILE *err)
{
	struct flags_ctx	 c;
	enum flags_result	 r;
	size_t			 i;

	for (i = 0; i < n; i++)
		flags_field_clear(&table[i], cfg);
	c.table = table;
	c.n = n;
	c.cfg = cfg;
	c.prog = prog;
	c.err = err;
	c.seen = xcalloc(n + 1, sizeof(*c.seen), "the flags seen");
	c.set = xcalloc(n + 1, sizeof(*c.set), "the flags set");
	r = flags_run(&c, argc, argv, out);
	free(c.seen);
	free(c.set);
	if (r != FLAGS_OK)
		flags_free(table, n, cfg);
	return r;
}

/* The left column of a row in --help, e.g. "--log.level=<enum>". */
static void
flags_usage_left_format(const struct flag_def *row, char *buf, size_t len)
{
	static const char *const types[] = {
		[FLAG_STRING] = "string", [FLAG_STRINGS] = "string",
		[FLAG_BOOL] = "bool", [FLAG_INT] = "int",
		[FLAG_DURATION] = "duration", [FLAG_BYTES] = "bytes",
		[FLAG_ENUM] = "enum",
	};

	if (row->type == FLAG_BOOL)
		snprintf(buf, len, "--[no-]%s", row->name);
	else
		snprintf(buf, len, "--%s=<%s>", row->name,
		    (unsigned)row->type < sizeof(types) / sizeof(types[0]) &&
		    types[row->type] != NULL ? types[row->type] : "value");
}

void
flags_usage(const struct flag_def *table, size_t n,
    const struct flags_program *prog, FILE *out)
{
	char	 left[256], list[400];
	size_t	 i, w = strlen("--version"), l;

	for (i = 0; i < n; i++) {
		flags_usage_left_format(&table[i], left, sizeof(left));
		if ((l = strlen(left)) > w)
			w = l;
	}
	if (prog->summary != NULL)
		fprintf(out, "%s: %s\n\n", prog->name, prog->summary);
	fprintf(out, "Usage: %s [flags]\n\nFlags:\n", prog->name);
	for (i = 0; i < n; i++) {
		const struct flag_def *row = &table[i];

		flags_usage_left_format(row, left, sizeof(left));
		fprintf(out, "  %-*s  %s", (int)w, left,
		    row->help != NULL ? row->help : "");
		if (row->type == FLAG_ENUM) {
			flags_choices_format(row, list, sizeof(list));
			fprintf(out, " (one of: %s)", list);
		}
		if (row->type == FLAG_STRINGS)
			fprintf(out, " (repeatable)");
		if (row->flags & FLAG_REQUIRED)
			fprintf(out, " (required)");
		if (row->def != NULL)
			fprintf(out, " (default: %s)", row->def);
		fputc('\n', out);
	}
	fprintf(out, "  %-*s  %s\n", (int)w, "--help",
	    "Show this help and exit.");
	fprintf(out, "  %-*s  %s\n", (int)w, "--version",
	    "Show the version and exit.");
}

void
flags_free(const struct flag_def *table, size_t n, void *cfg)
{
	size_t	 i;
	char	**sp;

	for (i = 0; i < n; i++) {
		if (table[i].type == FLAG_STRING) {
			sp = FLAGS_FIELD(cfg, &table[i], char *);
			free(*sp);
			*sp = NULL;
		} else if (table[i].type == FLAG_STRINGS)
			flags_strings_clear(FLAGS_FIELD(cfg, &table[i],
			    struct flag_strings));
	}
}
