/*
 * Label sets: a sorted array, searched by bisection, grown one slot at a
 * time (sets hold at most LIMIT_MAX_LABELS).  Every check happens on the
 * way in, so a set in memory is always valid and its canonical form and
 * hash are plain walks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "labels.h"
#include "pushprox_limits.h"

void
labels_init(struct labels *ls)
{
	ls->v = NULL;
	ls->n = 0;
	ls->bytes = 0;
}

void
labels_release(struct labels *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++) {
		free(ls->v[i].name);
		free(ls->v[i].value);
	}
	free(ls->v);
	labels_init(ls);
}

bool
labels_name_ok(const char *name, const char **why)
{
	size_t i, len = strlen(name);

	if (len == 0) {
		*why = "empty label name";
		return false;
	}
	if (len > LIMIT_MAX_LABEL_NAME_BYTES) {
		*why = "label name longer than "
		    LIMIT_STR(LIMIT_MAX_LABEL_NAME_BYTES) " bytes";
		return false;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (i > 0 && c >= '0' && c <= '9'))) {
			*why = "label names must match [a-zA-Z_][a-zA-Z0-9_]*";
			return false;
		}
	}
	if (strncmp(name, "__", 2) == 0) {
		*why = "label names starting with __ are reserved (the proxy "
		    "sets __address__, __metrics_path__ and __meta_pushprox_*)";
		return false;
	}
	if (strcmp(name, "instance") == 0) {
		*why = "the instance label is reserved (the proxy sets it to "
		    "FQDN/NAME)";
		return false;
	}
	return true;
}

bool
labels_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned int c, min;
	int more;

	while (p < end) {
		c = *p++;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			min = 0x80;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			min = 0x800;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return false;	/* continuation, overlong lead, > f4 */
		if (end - p < more)
			return false;
		while (more-- > 0) {
			if ((*p & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (*p++ & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
	}
	return true;
}

bool
labels_value_ok(const char *v, size_t len, const char **why)
{
	if (len > LIMIT_MAX_LABEL_VALUE_BYTES) {
		*why = "label value longer than "
		    LIMIT_STR(LIMIT_MAX_LABEL_VALUE_BYTES) " bytes";
		return false;
	}
	if (memchr(v, '\0', len) != NULL) {
		*why = "label value holds a NUL byte";
		return false;
	}
	if (!labels_utf8_ok(v, len)) {
		*why = "label value is not valid UTF-8";
		return false;
	}
	return true;
}

/* Index of name, or of where it would go (*found false). */
static size_t
labels_search(const struct labels *ls, const char *name, bool *found)
{
	size_t lo = 0, hi = ls->n, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, ls->v[mid].name)) == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int
labels_set(struct labels *ls, const char *name, const char *value,
    bool replace, char *err, size_t errlen)
{
	const char *why;
	struct label *v;
	char *nv, *nn;
	size_t i, vlen = strlen(value);
	bool found;

	if (!labels_name_ok(name, &why)) {
		snprintf(err, errlen, "label \"%.*s\": %s",
		    LIMIT_MAX_LABEL_NAME_BYTES, name, why);
		return -1;
	}
	if (!labels_value_ok(value, vlen, &why)) {
		snprintf(err, errlen, "label %s: %s", name, why);
		return -1;
	}
	i = labels_search(ls, name, &found);
	if (found && !replace) {
		snprintf(err, errlen, "label %s: duplicate label", name);
		return -1;
	}
	if (!found && ls->n >= LIMIT_MAX_LABELS) {
		snprintf(err, errlen,
		    "label %s: more than %d labels in one set",
		    name, LIMIT_MAX_LABELS);
		return -1;
	}
	if ((nv = strdup(value)) == NULL) {
		snprintf(err, errlen, "label %s: out of memory", name);
		return -1;
	}
	if (found) {
		ls->bytes = ls->bytes - strlen(ls->v[i].value) + vlen;
		free(ls->v[i].value);
		ls->v[i].value = nv;
		return 0;
	}
	if ((nn = strdup(name)) == NULL ||
	    (v = reallocarray(ls->v, ls->n + 1, sizeof(*v))) == NULL) {
		free(nn);
		free(nv);
		snprintf(err, errlen, "label %s: out of memory", name);
		return -1;
	}
	ls->v = v;
	memmove(&v[i + 1], &v[i], (ls->n - i) * sizeof(*v));
	v[i].name = nn;
	v[i].value = nv;
	ls->n++;
	ls->bytes += strlen(name) + vlen;
	return 0;
}

const char *
labels_get(const struct labels *ls, const char *name)
{
	bool found;
	size_t i = labels_search(ls, name, &found);

	return found ? ls->v[i].value : NULL;
}

int
labels_merge(struct labels *dst, const struct labels *src, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (labels_set(dst, src->v[i].name, src->v[i].value, true, err,
		    errlen) == -1)
			return -1;
	return 0;
}

int
labels_copy(struct labels *dst, const struct labels *src)
{
	char err[64];

	labels_release(dst);
	if (labels_merge(dst, src, err, sizeof(err)) == -1) {
		labels_release(dst);
		return -1;
	}
	return 0;
}

bool
labels_equal(const struct labels *a, const struct labels *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) != 0 ||
		    strcmp(a->v[i].value, b->v[i].value) != 0)
			return false;
	return true;
}

int
labels_parse_flag(struct labels *ls, const char *arg, char *err,
    size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char name[LIMIT_MAX_LABEL_NAME_BYTES + 2], why[256];
	size_t len;

	if (eq == NULL) {
		snprintf(err, errlen, "--label \"%.64s\": expected NAME=VALUE",
		    arg);
		return -1;
	}
	len = (size_t)(eq - arg);
	if (len >= sizeof(name))
		len = sizeof(name) - 1;	/* labels_set refuses the length */
	memcpy(name, arg, len);
	name[len] = '\0';
	if (labels_set(ls, name, eq + 1, false, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "--label %s", why);
		return -1;
	}
	return 0;
}

char *
labels_format(const struct labels *ls)
{
	struct buf b;
	const char *p;
	size_t i;
	int rv = 0;

	buf_init(&b, 2 * ls->bytes + 4 * ls->n + 3);
	rv |= buf_puts(&b, "{");
	for (i = 0; i < ls->n; i++) {
		rv |= buf_printf(&b, "%s%s=\"", i > 0 ? "," : "",
		    ls->v[i].name);
		for (p = ls->v[i].value; *p != '\0'; p++) {
			if (*p == '\\')
				rv |= buf_puts(&b, "\\\\");
			else if (*p == '"')
				rv |= buf_puts(&b, "\\\"");
			else if (*p == '\n')
				rv |= buf_puts(&b, "\\n");
			else
				rv |= buf_append(&b, p, 1);
		}
		rv |= buf_puts(&b, "\"");
	}
	rv |= buf_puts(&b, "}");
	if (rv != 0) {
		buf_release(&b);
		return NULL;
	}
	return b.data;	/* caller frees with free() */
}

int
labels_digest(const void *p, size_t len, char out[LABELS_HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 < LABELS_HASH_HEX)
		return -1;
	for (i = 0; i < LABELS_HASH_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[LABELS_HASH_HEX] = '\0';
	return 0;
}

int
labels_hash(const struct labels *ls, char out[LABELS_HASH_HEX + 1])
{
	char *s = labels_format(ls);
	int rv;

	if (s == NULL)
		return -1;
	rv = labels_digest(s, strlen(s), out);
	free(s);
	return rv;
}
