/*
 * Advertisements: built by the client, encoded with jansson (sorted keys,
 * so the bytes are canonical), decoded by the proxy with every rule of
 * docs/protocol.md checked before anything is kept.  Strings from a peer
 * are checked UTF-8 on the way in; advertsd.c renders them (escaped) into
 * the proxy's /targets and /clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "advert.h"
#include "pushprox_limits.h"

void
advert_limits_default(struct advert_limits *lim)
{
	lim->max_targets = LIMIT_MAX_TARGETS_PER_CLIENT;
	lim->max_label_bytes = LIMIT_MAX_LABEL_BYTES_PER_CLIENT;
	lim->max_bytes = LIMIT_MAX_ADVERT_BYTES;
}

bool
advert_name_ok(const char *name, const char **why)
{
	size_t len = strlen(name);

	if (len == 0) {
		*why = "empty target name";
		return false;
	}
	if (len > LIMIT_MAX_TARGET_NAME_BYTES) {
		*why = "target name longer than "
		    LIMIT_STR(LIMIT_MAX_TARGET_NAME_BYTES) " bytes";
		return false;
	}
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") != len) {
		*why = "target names must match [A-Za-z0-9_.-]+";
		return false;
	}
	if (strspn(name, ".") == len) {
		*why = "target names cannot be only dots";
		return false;
	}
	return true;
}

bool
advert_tag_ok(const char *tag)
{
	size_t len = strlen(tag);

	return len > 0 && len <= ADVERT_MAX_TAG && strspn(tag,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
	    == len;
}

struct advert *
advert_new(const char *client_version)
{
	struct advert *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	labels_init(&a->labels);
	if ((a->client_version = strdup(client_version != NULL ?
	    client_version : "")) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void
advert_free(struct advert *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->ntargets; i++) {
		free(a->targets[i].name);
		labels_release(&a->targets[i].labels);
	}
	free(a->targets);
	labels_release(&a->labels);
	free(a->client_version);
	free(a);
}

int
advert_set_labels(struct advert *a, const struct labels *ls)
{
	return labels_copy(&a->labels, ls);
}

/* Index of name among a's sorted targets, or where it would go. */
static size_t
advert_search(const struct advert *a, const char *name, bool *found)
{
	size_t lo = 0, hi = a->ntargets, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, a->targets[mid].name)) == 0) {
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
advert_add_target(struct advert *a, const char *name,
    const struct labels *ls, char *err, size_t errlen)
{
	struct advert_target *v, t;
	const char *why;
	size_t i;
	bool found;

	if (!advert_name_ok(name, &why)) {
		snprintf(err, errlen, "target \"%.*s\": %s",
		    (int)LIMIT_MAX_TARGET_NAME_BYTES, name, why);
		return -1;
	}
	i = advert_search(a, name, &found);
	if (found) {
		snprintf(err, errlen, "target %s: duplicate target name", name);
		return -1;
	}
	labels_init(&t.labels);
	if ((t.name = strdup(name)) == NULL ||
	    (ls != NULL && labels_copy(&t.labels, ls) == -1) ||
	    (v = reallocarray(a->targets, a->ntargets + 1, sizeof(*v))) ==
	    NULL) {
		free(t.name);
		labels_release(&t.labels);
		snprintf(err, errlen, "target %s: out of memory", name);
		return -1;
	}
	a->targets = v;
	memmove(&v[i + 1], &v[i], (a->ntargets - i) * sizeof(*v));
	v[i] = t;
	a->ntargets++;
	return 0;
}

const struct advert_target *
advert_find(const struct advert *a, const char *name)
{
	bool found;
	size_t i = advert_search(a, name, &found);

	return found ? &a->targets[i] : NULL;
}

size_t
advert_label_bytes(const struct advert *a)
{
	size_t i, n = a->labels.bytes;

	for (i = 0; i < a->ntargets; i++)
		n += a->targets[i].labels.bytes;
	return n;
}

int
advert_check(const struct advert *a, const struct advert_limits *lim,
    char *err, size_t errlen)
{
	size_t n;

	if (a->ntargets > lim->max_targets) {
		snprintf(err, errlen, "targets: %zu targets, more than the %zu "
		    "allowed by --advertise.max-targets", a->ntargets,
		    lim->max_targets);
		return -1;
	}
	if ((n = advert_label_bytes(a)) > lim->max_label_bytes) {
		snprintf(err, errlen, "labels: %zu bytes of label names and "
		    "values, more than the %zu allowed by "
		    "--advertise.max-label-bytes", n, lim->max_label_bytes);
		return -1;
	}
	return 0;
}

/* A new object of ls's labels; NULL on ENOMEM. */
static json_t *
advert_labels_json(const struct labels *ls)
{
	json_t *o;
	size_t i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < ls->n; i++)
		if (json_object_set_new(o, ls->v[i].name,
		    json_string(ls->v[i].value)) == -1) {
			json_decref(o);
			return NULL;
		}
	return o;
}

char *
advert_encode(const struct advert *a, size_t *len)
{
	json_t *root, *targets, *t;
	char *s = NULL;
	size_t i;

	root = json_pack("{s:i, s:s, s:o, s:[]}", "version", ADVERT_VERSION,
	    "client_version", a->client_version, "labels",
	    advert_labels_json(&a->labels), "targets");
	if (root == NULL)
		return NULL;
	targets = json_object_get(root, "targets");	/* borrowed */
	for (i = 0; i < a->ntargets; i++) {
		t = json_pack("{s:s, s:o}", "name", a->targets[i].name,
		    "labels", advert_labels_json(&a->targets[i].labels));
		if (t == NULL || json_array_append_new(targets, t) == -1)
			goto out;
	}
	s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	if (s != NULL)
		*len = strlen(s);
out:
	json_decref(root);
	return s;	/* caller frees with free() */
}

int
advert_hash(const struct advert *a, char out[LABELS_HASH_HEX + 1])
{
	size_t len;
	char *s;
	int rv;

	if ((s = advert_encode(a, &len)) == NULL)
		return -1;
	rv = labels_digest(s, len, out);
	free(s);
	return rv;
}

/* A peer's key made safe to quote in an error: printable ASCII, capped. */
static const char *
advert_quote(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen && i < 64; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/* Decodes a labels object into ls; where names the field for errors. */
static int
advert_decode_labels(const json_t *o, struct labels *ls, const char *where,
    char *err, size_t errlen)
{
	const char *name;
	char why[512], q[80];
	json_t *v;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s: must be an object of "
		    "\"name\": \"value\"", where);
		return -1;
	}
	json_object_foreach((json_t *)o, name, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s.%s: label values must be "
			    "strings", where, advert_quote(name, q, sizeof(q)));
			return -1;
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, errlen, "%s.%s: label value holds a NUL "
			    "byte", where, advert_quote(name, q, sizeof(q)));
			return -1;
		}
		if (labels_set(ls, name, json_string_value(v), false, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s", where, why);
			return -1;
		}
	}
	return 0;
}

static int
advert_decode_target(struct advert *a, const json_t *t, size_t i,
    char *err, size_t errlen)
{
	const char *key, *name = NULL;
	struct labels ls;
	char where[64], why[512], q[80];
	json_t *v, *labels = NULL;
	int rv = -1;

	snprintf(where, sizeof(where), "targets[%zu]", i);
	if (!json_is_object(t)) {
		snprintf(err, errlen, "%s: must be an object with name and "
		    "labels", where);
		return -1;
	}
	json_object_foreach((json_t *)t, key, v) {
		if (strcmp(key, "name") == 0) {
			if (!json_is_string(v)) {
				snprintf(err, errlen, "%s.name: must be a "
				    "string", where);
				return -1;
			}
			name = json_string_value(v);
		} else if (strcmp(key, "labels") == 0)
			labels = v;
		else {
			snprintf(err, errlen, "%s: unknown key \"%s\" (a "
			    "target has name and labels)", where,
			    advert_quote(key, q, sizeof(q)));
			return -1;
		}
	}
	if (name == NULL) {
		snprintf(err, errlen, "%s.name: required", where);
		return -1;
	}
	labels_init(&ls);
	snprintf(where, sizeof(where), "targets[%zu].labels", i);
	if (labels != NULL && advert_decode_labels(labels, &ls, where, err,
	    errlen) == -1)
		goto out;
	if (advert_add_target(a, name, &ls, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "targets[%zu].name: %s", i, why);
		goto out;
	}
	rv = 0;
out:
	labels_release(&ls);
	return rv;
}

static int
advert_decode_root(struct advert *a, const json_t *root,
    const struct advert_limits *lim, char *err, size_t errlen)
{
	const json_t *version = NULL, *cv = NULL, *labels = NULL;
	const json_t *targets = NULL, *v;
	const char *key, *s;
	char q[80];
	size_t i;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "body: must be a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)root, key, v) {
		if (strcmp(key, "version") == 0)
			version = v;
		else if (strcmp(key, "client_version") == 0)
			cv = v;
		else if (strcmp(key, "labels") == 0)
			labels = v;
		else if (strcmp(key, "targets") == 0)
			targets = v;
		else {
			snprintf(err, errlen, "body: unknown key \"%s\" "
			    "(known: version, client_version, labels, "
			    "targets)", advert_quote(key, q, sizeof(q)));
			return -1;
		}
	}
	if (version == NULL || !json_is_integer(version) ||
	    json_integer_value(version) != ADVERT_VERSION) {
		snprintf(err, errlen, "version: required, and must be %d",
		    ADVERT_VERSION);
		return -1;
	}
	if (cv != NULL) {
		if (!json_is_string(cv) ||
		    json_string_length(cv) > ADVERT_MAX_CLIENT_VERSION ||
		    strspn(s = json_string_value(cv),
		    "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-+_~") !=
		    json_string_length(cv)) {
			snprintf(err, errlen, "client_version: must be a "
			    "string of at most %d bytes of [A-Za-z0-9.+_~-]",
			    ADVERT_MAX_CLIENT_VERSION);
			return -1;
		}
		free(a->client_version);
		if ((a->client_version = strdup(s)) == NULL) {
			snprintf(err, errlen, "client_version: out of memory");
			return -1;
		}
	}
	if (labels != NULL && advert_decode_labels(labels, &a->labels,
	    "labels", err, errlen) == -1)
		return -1;
	if (targets == NULL || !json_is_array(targets)) {
		snprintf(err, errlen, "targets: required, an array of "
		    "{\"name\": ..., \"labels\": {...}}");
		return -1;
	}
	if (json_array_size(targets) > lim->max_targets) {
		snprintf(err, errlen, "targets: %zu targets, more than the %zu "
		    "allowed by --advertise.max-targets",
		    json_array_size(targets), lim->max_targets);
		return -1;
	}
	for (i = 0; i < json_array_size(targets); i++)
		if (advert_decode_target(a, json_array_get(targets, i), i, err,
		    errlen) == -1)
			return -1;
	return advert_check(a, lim, err, errlen);
}

struct advert *
advert_decode(const char *body, size_t len, const struct advert_limits *lim,
    int *status, char *err, size_t errlen)
{
	struct advert *a;
	json_error_t jerr;
	json_t *root;

	err[0] = '\0';
	*status = 400;
	if (len > lim->max_bytes) {
		*status = 413;
		snprintf(err, errlen, "body: %zu bytes, more than the %zu "
		    "allowed by --advertise.max-bytes", len, lim->max_bytes);
		return NULL;
	}
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(err, errlen, "body: invalid JSON at line %d column "
		    "%d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if ((a = advert_new(NULL)) == NULL) {
		*status = 503;
		snprintf(err, errlen, "advertisement: out of memory");
	} else if (advert_decode_root(a, root, lim, err, errlen) == -1) {
		if (strstr(err, "out of memory") != NULL)
			*status = 503;
		advert_free(a);
		a = NULL;
	}
	json_decref(root);
	return a;
}
