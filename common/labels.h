/*
 * Label sets as a client advertises them and the proxy lists them in
 * /targets: at most LIMIT_MAX_LABELS (name, value) pairs, kept sorted by
 * name so the canonical form and its hash need no extra sorting.
 *
 * Rules (docs/protocol.md, "Labels"): a name is Prometheus's
 * [a-zA-Z_][a-zA-Z0-9_]*, at most LIMIT_MAX_LABEL_NAME_BYTES; a value is
 * UTF-8 without NUL, at most LIMIT_MAX_LABEL_VALUE_BYTES.  The proxy owns
 * every name starting with "__" (__address__, __metrics_path__,
 * __meta_pushprox_*) and "instance" (FQDN/NAME), so those are refused.
 *
 * Allocations are checked: a failure returns -1 with "out of memory", so
 * the proxy can use this module while serving (one advertisement fails).
 */
#ifndef PUSHPROX_LABELS_H
#define PUSHPROX_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#define LABELS_HASH_HEX		16	/* hex digits of a short hash */

struct label {
	char	*name;
	char	*value;
};

struct labels {
	struct label	*v;		/* sorted by name, unique */
	size_t		 n;
	size_t		 bytes;		/* sum of name and value lengths */
};

/* An empty set (no allocation until the first label). */
void labels_init(struct labels *ls);

/* Frees every label; the set is empty again. */
void labels_release(struct labels *ls);

/* Whether name is a label name a client may set; else *why says why. */
bool labels_name_ok(const char *name, const char **why);

/* Whether v[0..len) is a label value (UTF-8, no NUL, capped); else *why. */
bool labels_value_ok(const char *v, size_t len, const char **why);

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool labels_utf8_ok(const char *s, size_t len);

/*
 * Adds name=value, or replaces the value of name if replace is true.
 * Returns 0; or -1 with err holding what failed (the name, the rule or
 * limit broken; "duplicate label" when name is present and !replace).
 */
int labels_set(struct labels *ls, const char *name, const char *value,
    bool replace, char *err, size_t errlen);

/* The value of name, borrowed from ls; NULL if absent. */
const char *labels_get(const struct labels *ls, const char *name);

/*
 * Adds every label of src to dst, src winning a clash (the targets file
 * over --label, a target over its client).  Returns 0, or -1 with err.
 */
int labels_merge(struct labels *dst, const struct labels *src, char *err,
    size_t errlen);

/* Makes dst (released first) a copy of src.  Returns 0, or -1 (ENOMEM). */
int labels_copy(struct labels *dst, const struct labels *src);

/* Whether a and b hold the same labels. */
bool labels_equal(const struct labels *a, const struct labels *b);

/*
 * Parses a --label flag "NAME=VALUE" into ls (a repeated name is an
 * error).  Returns 0, or -1 with err naming the flag and the problem.
 */
int labels_parse_flag(struct labels *ls, const char *arg, char *err,
    size_t errlen);

/*
 * The canonical form {a="1",b="x\"y"} (sorted; \\, \" and \n escaped as
 * in the Prometheus text format).  Caller frees with free(); NULL on ENOMEM.
 */
char *labels_format(const struct labels *ls);

/*
 * The short hash of len bytes at p: the first LABELS_HASH_HEX hex digits
 * of their SHA-256, written with a NUL into out.  Returns 0, or -1 if
 * OpenSSL fails.
 */
int labels_digest(const void *p, size_t len, char out[LABELS_HASH_HEX + 1]);

/* The short hash of labels_format(ls).  Returns 0, or -1. */
int labels_hash(const struct labels *ls, char out[LABELS_HASH_HEX + 1]);

#endif
