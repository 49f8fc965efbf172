/*
 * Command-line flags from one table, as tmux's options table: each row
 * (name, type, default, range, help) drives parsing, validation and --help.
 * Flags are spelled the Prometheus way (--web.listen-address) and accept
 * both "--flag=value" and "--flag value"; booleans take "--flag",
 * "--no-flag" or "--flag=true|false".  Values land in a caller's config
 * struct at each row's offset.  "--help" and "--version" are built in.
 */
#ifndef PUSHPROX_FLAGS_H
#define PUSHPROX_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum flag_type {
	FLAG_STRING,	/* char * (owned by the config; freed by flags_free) */
	FLAG_STRINGS,	/* struct flag_strings: repeatable */
	FLAG_BOOL,	/* bool */
	FLAG_INT,	/* int64_t, within [min, max] */
	FLAG_DURATION,	/* int64_t milliseconds, within [min, max] */
	FLAG_BYTES,	/* int64_t bytes, within [min, max] */
	FLAG_ENUM,	/* int: index into choices */
};

struct flag_strings {
	char	**v;
	size_t	  n;
};

#define FLAG_REQUIRED	0x1	/* must be given (or have a default) */

struct flag_def {
	/* without dashes: "web.listen-address" */
	const char		*name;
	enum flag_type		 type;
	const char		*def;	/* default in flag syntax, or NULL */
	int64_t			 min;	/* INT, DURATION (ms), BYTES */
	int64_t			 max;
	const char *const	*choices; /* ENUM: NULL-terminated */
	size_t			 offset; /* into the config struct */
	unsigned		 flags;
	const char		*help;
};

enum flags_result {
	FLAGS_OK,	/* config filled in: run */
	FLAGS_EXIT,	/* --help or --version printed: exit 0 */
	FLAGS_ERROR,	/* message printed to err: exit 1 */
};

struct flags_program {
	const char	*name;		/* "pushprox-proxy" */
	const char	*version;
	const char	*summary;	/* one line for --help */
};

/*
 * Applies defaults, then argv, to cfg.  Errors name the flag and the value
 * ("invalid value \"x\" for --scrape.max-timeout: ...") and go to err;
 * help and version go to out.
 */
enum flags_result flags_parse(const struct flag_def *table, size_t n,
    void *cfg, const struct flags_program *prog, int argc, char **argv,
    FILE *out, FILE *err);

/* Writes the --help text. */
void flags_usage(const struct flag_def *table, size_t n,
    const struct flags_program *prog, FILE *out);

/* Frees the strings flags_parse stored in cfg. */
void flags_free(const struct flag_def *table, size_t n, void *cfg);

#endif
