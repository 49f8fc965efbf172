/*
 * Reading targets files.  libyaml's document API gives a node tree that
 * we walk against the schema, failing on the first problem with its line
 * (the model of common/webconfig.c).  Every value is checked here, so a
 * target that leaves this file is valid: its name, its URL (http or https,
 * parsed by common/url.c), its labels (common/labels.c), its TLS settings.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "advert.h"
#include "pushprox_limits.h"
#include "targetsfile.h"

struct targetsfile_parse {
	yaml_document_t	*doc;
	const char	*path;
	char		*dir;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static int
targetsfile_fail(struct targetsfile_parse *p, const yaml_node_t *n,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
targetsfile_fail(struct targetsfile_parse *p, const yaml_node_t *n,
    const char *key, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s: line %lu: %s%s%s", p->path,
	    n != NULL ? (unsigned long)n->start_mark.line + 1 : 0UL,
	    key != NULL ? key : "", key != NULL ? ": " : "", why);
	p->failed = 1;
	return -1;
}

static const char *
targetsfile_scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	    (const char *)n->data.scalar.value : NULL;
}

/* "key:" with no value, or null / ~. */
static int
targetsfile_is_null(const yaml_node_t *n)
{
	const char *s = targetsfile_scalar(n);

	return s != NULL && (*s == '\0' || strcmp(s, "null") == 0 ||
	    strcmp(s, "~") == 0) && n->data.scalar.style ==
	    YAML_PLAIN_SCALAR_STYLE;
}

static yaml_node_t *
targetsfile_node(struct targetsfile_parse *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

/*
 * Checks that map is a mapping with text keys given once, each one of
 * known (NULL-terminated).  what names the mapping in errors.
 */
static int
targetsfile_keys(struct targetsfile_parse *p, const yaml_node_t *map,
    const char *what, const char *const *known, const char *list)
{
	yaml_node_pair_t *a, *b;
	const char *k, *kb;
	size_t i;

	if (map->type != YAML_MAPPING_NODE)
		return targetsfile_fail(p, map, what, "must be a mapping (%s)",
		    list);
	for (a = map->data.mapping.pairs.start;
	    a < map->data.mapping.pairs.top; a++) {
		if ((k = targetsfile_scalar(targetsfile_node(p, a->key))) ==
		    NULL)
			return targetsfile_fail(p, targetsfile_node(p, a->key),
			    what, "keys must be text");
		for (i = 0; known[i] != NULL && strcmp(k, known[i]) != 0; i++)
			;
		if (known[i] == NULL)
			return targetsfile_fail(p, targetsfile_node(p, a->key),
			    k, "unknown key in %s (known: %s)", what, list);
		for (b = map->data.mapping.pairs.start; b < a; b++) {
			kb = targetsfile_scalar(targetsfile_node(p, b->key));
			if (kb != NULL && strcmp(k, kb) == 0)
				return targetsfile_fail(p,
				    targetsfile_node(p, a->key), k,
				    "duplicate key");
		}
	}
	return 0;
}

/* The value of key in map (checked by targetsfile_keys), or NULL. */
static yaml_node_t *
targetsfile_get(struct targetsfile_parse *p, const yaml_node_t *map,
    const char *key)
{
	yaml_node_pair_t *pair;
	const char *k;

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = targetsfile_scalar(targetsfile_node(p, pair->key));
		if (k != NULL && strcmp(k, key) == 0) {
			yaml_node_t *v = targetsfile_node(p, pair->value);

			return targetsfile_is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

static int
targetsfile_string(struct targetsfile_parse *p, const yaml_node_t *n,
    const char *key, char **out)
{
	const char *v = targetsfile_scalar(n);

	if (v == NULL || *v == '\0')
		return targetsfile_fail(p, n, key, "must be non-empty text");
	if ((*out = strdup(v)) == NULL)
		return targetsfile_fail(p, n, key, "out of memory");
	return 0;
}

/* A path, resolved against the folder of the file being read. */
static int
targetsfile_path(struct targetsfile_parse *p, const yaml_node_t *n,
    const char *key, char **out)
{
	const char *v = targetsfile_scalar(n);
	size_t len;

	if (v == NULL || *v == '\0')
		return targetsfile_fail(p, n, key, "must be a path");
	if (*v == '/')
		*out = strdup(v);
	else {
		len = strlen(p->dir) + 1 + strlen(v) + 1;
		if ((*out = malloc(len)) != NULL)
			snprintf(*out, len, "%s/%s", p->dir, v);
	}
	if (*out == NULL)
		return targetsfile_fail(p, n, key, "out of memory");
	return 0;
}

static int
targetsfile_labels(struct targetsfile_parse *p, const yaml_node_t *map,
    struct labels *ls)
{
	yaml_node_pair_t *pair;
	const yaml_node_t *k, *v;
	const char *name, *value;
	char why[512];

	if (map->type != YAML_MAPPING_NODE)
		return targetsfile_fail(p, map, "labels", "must be a mapping "
		    "of name: value");
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = targetsfile_node(p, pair->key);
		v = targetsfile_node(p, pair->value);
		if ((name = targetsfile_scalar(k)) == NULL)
			return targetsfile_fail(p, k, "labels",
			    "names must be text");
		if ((value = targetsfile_scalar(v)) == NULL)
			return targetsfile_fail(p, v, name,
			    "label values must be text");
		if (labels_set(ls, name, value, false, why, sizeof(why)) == -1)
			return targetsfile_fail(p, k, "labels", "%s", why);
	}
	return 0;
}

static int
targetsfile_tls(struct targetsfile_parse *p, const yaml_node_t *map,
    struct target *t)
{
	static const char *const known[] = { "ca_file", "cert_file",
	    "key_file", "server_name", "insecure_skip_verify", NULL };
	static const char list[] = "ca_file, cert_file, key_file, "
	    "server_name, insecure_skip_verify";
	const yaml_node_t *v;
	const char *s;

	if (targetsfile_keys(p, map, "tls", known, list) == -1)
		return -1;
	t->has_tls = true;
	if (((v = targetsfile_get(p, map, "ca_file")) != NULL &&
	    targetsfile_path(p, v, "ca_file", &t->tls.ca_file) == -1) ||
	    ((v = targetsfile_get(p, map, "cert_file")) != NULL &&
	    targetsfile_path(p, v, "cert_file", &t->tls.cert_file) == -1) ||
	    ((v = targetsfile_get(p, map, "key_file")) != NULL &&
	    targetsfile_path(p, v, "key_file", &t->tls.key_file) == -1) ||
	    ((v = targetsfile_get(p, map, "server_name")) != NULL &&
	    targetsfile_string(p, v, "server_name", &t->tls.server_name) ==
	    -1))
		return -1;
	if ((v = targetsfile_get(p, map, "insecure_skip_verify")) != NULL) {
		s = targetsfile_scalar(v);
		if (s != NULL && strcmp(s, "true") == 0)
			t->tls.insecure_skip_verify = true;
		else if (s == NULL || strcmp(s, "false") != 0)
			return targetsfile_fail(p, v, "insecure_skip_verify",
			    "must be true or false");
	}
	if ((t->tls.cert_file == NULL) != (t->tls.key_file == NULL))
		return targetsfile_fail(p, map, "tls", "cert_file and key_file "
		    "go together");
	return 0;
}

static int
targetsfile_source(struct targetsfile_parse *p, const yaml_node_t *n,
    char **out)
{
	size_t len = strlen(p->path) + 24;

	if ((*out = malloc(len)) == NULL)
		return targetsfile_fail(p, n, NULL, "out of memory");
	snprintf(*out, len, "%s:%lu", p->path,
	    (unsigned long)n->start_mark.line + 1);
	return 0;
}

/* One `targets` entry into t (zeroed by the caller). */
static int
targetsfile_target(struct targetsfile_parse *p, const yaml_node_t *map,
    struct target *t, enum targets_origin origin)
{
	static const char *const known[] = { "name", "url", "labels",
	    "unix_socket", "tls", NULL };
	static const char list[] = "name, url, labels, unix_socket, tls";
	const yaml_node_t *v;
	const char *why;

	labels_init(&t->labels);
	t->origin = origin;
	if (targetsfile_keys(p, map, "target", known, list) == -1 ||
	    targetsfile_source(p, map, &t->source) == -1)
		return -1;
	if ((v = targetsfile_get(p, map, "name")) == NULL)
		return targetsfile_fail(p, map, "name", "required");
	if (targetsfile_string(p, v, "name", &t->name) == -1)
		return -1;
	if (!advert_name_ok(t->name, &why))
		return targetsfile_fail(p, v, "name", "\"%s\": %s", t->name,
		    why);
	if ((v = targetsfile_get(p, map, "url")) == NULL)
		return targetsfile_fail(p, map, "url", "required (target %s)",
		    t->name);
	if (targetsfile_string(p, v, "url", &t->url) == -1)
		return -1;
	if (url_parse(t->url, &t->u, &why) == -1)
		return targetsfile_fail(p, v, "url", "\"%s\": %s (an absolute "
		    "http:// or https:// URL)", t->url, why);
	if (!url_connectable(&t->u))
		return targetsfile_fail(p, v, "url", "\"%s\": port 0 is the "
		    "named-target route, not a port to connect to", t->url);
	if ((v = targetsfile_get(p, map, "labels")) != NULL &&
	    targetsfile_labels(p, v, &t->labels) == -1)
		return -1;
	if ((v = targetsfile_get(p, map, "unix_socket")) != NULL &&
	    targetsfile_path(p, v, "unix_socket", &t->unix_socket) == -1)
		return -1;
	if ((v = targetsfile_get(p, map, "tls")) != NULL) {
		if (strcmp(t->u.scheme, "https") != 0)
			return targetsfile_fail(p, v, "tls", "only for https "
			    "URLs (target %s is %s)", t->name, t->url);
		if (targetsfile_tls(p, v, t) == -1)
			return -1;
	}
	return 0;
}

/* A sequence of entries (or, for an included file, one) onto *v. */
static int
targetsfile_targets(struct targetsfile_parse *p, const yaml_node_t *n,
    struct target **v, size_t *nv, size_t max, enum targets_origin origin)
{
	yaml_node_item_t *it, *start, *top, one;
	struct target *nt;

	if (n->type == YAML_MAPPING_NODE && origin == TARGETS_INCLUDE) {
		one = (yaml_node_item_t)(n - p->doc->nodes.start + 1);
		start = &one;
		top = start + 1;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		start = n->data.sequence.items.start;
		top = n->data.sequence.items.top;
	} else
		return targetsfile_fail(p, n, "targets", "must be a list of "
		    "targets");
	for (it = start; it < top; it++) {
		if (*nv >= max)
			return targetsfile_fail(p, targetsfile_node(p, *it),
			    "targets", "more than %zu targets", max);
		if ((nt = reallocarray(*v, *nv + 1, sizeof(*nt))) == NULL)
			return targetsfile_fail(p, n, "targets",
			    "out of memory");
		*v = nt;
		memset(&nt[*nv], 0, sizeof(*nt));
		(*nv)++;
		if (targetsfile_target(p, targetsfile_node(p, *it),
		    &nt[*nv - 1], origin) == -1)
			return -1;
	}
	return 0;
}

static int
targetsfile_sockdirs(struct targetsfile_parse *p, const yaml_node_t *n,
    struct targets *spec)
{
	static const char *const known[] = { "dir", "path", "labels", NULL };
	yaml_node_item_t *it;
	struct targets_sockdir *sd;
	const yaml_node_t *map, *v;

	if (n->type != YAML_SEQUENCE_NODE)
		return targetsfile_fail(p, n, "socket_dirs", "must be a list "
		    "of {dir, path, labels}");
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		map = targetsfile_node(p, *it);
		if ((sd = reallocarray(spec->sockdirs, spec->nsockdirs + 1,
		    sizeof(*sd))) == NULL)
			return targetsfile_fail(p, n, "socket_dirs",
			    "out of memory");
		spec->sockdirs = sd;
		sd = &sd[spec->nsockdirs++];
		memset(sd, 0, sizeof(*sd));
		labels_init(&sd->labels);
		if (targetsfile_keys(p, map, "socket_dirs", known,
		    "dir, path, labels") == -1 ||
		    targetsfile_source(p, map, &sd->source) == -1)
			return -1;
		if ((v = targetsfile_get(p, map, "dir")) == NULL)
			return targetsfile_fail(p, map, "dir", "required");
		if (targetsfile_path(p, v, "dir", &sd->dir) == -1)
			return -1;
		if ((v = targetsfile_get(p, map, "path")) != NULL) {
			if (targetsfile_string(p, v, "path", &sd->path) == -1)
				return -1;
			if (sd->path[0] != '/' || strpbrk(sd->path, " #") !=
			    NULL)
				return targetsfile_fail(p, v, "path", "must "
				    "start with / and hold no space or #");
		} else if ((sd->path = strdup("/metrics")) == NULL)
			return targetsfile_fail(p, map, "path", "out of memory");
		if ((v = targetsfile_get(p, map, "labels")) != NULL &&
		    targetsfile_labels(p, v, &sd->labels) == -1)
			return -1;
	}
	return 0;
}

static int
targetsfile_includes(struct targetsfile_parse *p, const yaml_node_t *n,
    struct targets *spec)
{
	yaml_node_item_t *it;
	char **inc;

	if (n->type != YAML_SEQUENCE_NODE)
		return targetsfile_fail(p, n, "include", "must be a list of "
		    "directories");
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((inc = reallocarray(spec->includes, spec->nincludes + 1,
		    sizeof(*inc))) == NULL)
			return targetsfile_fail(p, n, "include",
			    "out of memory");
		spec->includes = inc;
		inc[spec->nincludes] = NULL;
		if (targetsfile_path(p, targetsfile_node(p, *it), "include",
		    &inc[spec->nincludes]) == -1)
			return -1;
		spec->nincludes++;
	}
	return 0;
}

static int
targetsfile_root(struct targetsfile_parse *p, struct targets *spec)
{
	static const char *const known[] = { "labels", "targets",
	    "socket_dirs", "include", NULL };
	const yaml_node_t *root = yaml_document_get_root_node(p->doc), *v;

	if (root == NULL)
		return 0;	/* an empty file: no targets */
	if (targetsfile_keys(p, root, "the file", known,
	    "labels, targets, socket_dirs, include") == -1)
		return -1;
	if ((v = targetsfile_get(p, root, "labels")) != NULL &&
	    targetsfile_labels(p, v, &spec->labels) == -1)
		return -1;
	if ((v = targetsfile_get(p, root, "targets")) != NULL &&
	    targetsfile_targets(p, v, &spec->statics, &spec->nstatics,
	    spec->limits.max_targets, TARGETS_STATIC) == -1)
		return -1;
	if ((v = targetsfile_get(p, root, "socket_dirs")) != NULL &&
	    targetsfile_sockdirs(p, v, spec) == -1)
		return -1;
	if ((v = targetsfile_get(p, root, "include")) != NULL &&
	    targetsfile_includes(p, v, spec) == -1)
		return -1;
	return 0;
}

/*
 * Loads path as a YAML document and runs fn on it (spec or the include
 * vector through arg).
 */
static int
targetsfile_read(const char *path, char *err, size_t errlen,
    int (*fn)(struct targetsfile_parse *, void *), void *arg)
{
	struct targetsfile_parse p = { .path = path, .err = err,
	    .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	char *copy = NULL;
	FILE *f;
	long size;
	int rv = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) < 0 ||
	    size > LIMIT_MAX_TARGETS_FILE_BYTES ||
	    fseek(f, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "%s: cannot read, or larger than 1 MiB",
		    path);
		fclose(f);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s: line %lu: invalid YAML: %s", path,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	p.doc = &doc;
	if ((copy = strdup(path)) == NULL ||
	    (p.dir = strdup(dirname(copy))) == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		rv = fn(&p, arg);
	free(copy);
	free(p.dir);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return rv;
}

static int
targetsfile_main_cb(struct targetsfile_parse *p, void *arg)
{
	return targetsfile_root(p, arg);
}

int
targetsfile_read_main(const char *path, struct targets *spec, char *err,
    size_t errlen)
{
	return targetsfile_read(path, err, errlen, targetsfile_main_cb, spec);
}

struct targetsfile_include {
	struct target	**v;
	size_t		 *n;
	size_t		  max;
};

static int
targetsfile_include_cb(struct targetsfile_parse *p, void *arg)
{
	struct targetsfile_include *inc = arg;
	const yaml_node_t *root = yaml_document_get_root_node(p->doc);

	if (root == NULL)
		return 0;	/* empty: no targets (yet) */
	return targetsfile_targets(p, root, inc->v, inc->n, inc->max,
	    TARGETS_INCLUDE);
}

int
targetsfile_read_include(const char *path, struct target **v, size_t *n,
    size_t max, char *err, size_t errlen)
{
	struct targetsfile_include inc = { v, n, max };

	return targetsfile_read(path, err, errlen, targetsfile_include_cb,
	    &inc);
}

void
targetsfile_target_release(struct target *t)
{
	free(t->name);
	free(t->url);
	if (t->url != NULL)
		url_release(&t->u);
	free(t->unix_socket);
	labels_release(&t->labels);
	free(t->tls.ca_file);
	free(t->tls.cert_file);
	free(t->tls.key_file);
	free(t->tls.server_name);
	free(t->source);
	memset(t, 0, sizeof(*t));
}

static int
targetsfile_dup(char **dst, const char *src)
{
	return src == NULL || (*dst = strdup(src)) != NULL ? 0 : -1;
}

int
targetsfile_target_copy(struct target *dst, const struct target *src)
{
	const char *why;

	memset(dst, 0, sizeof(*dst));
	labels_init(&dst->labels);
	dst->origin = src->origin;
	dst->has_tls = src->has_tls;
	dst->tls.insecure_skip_verify = src->tls.insecure_skip_verify;
	if (targetsfile_dup(&dst->name, src->name) == -1 ||
	    targetsfile_dup(&dst->url, src->url) == -1 ||
	    (dst->url != NULL && url_parse(dst->url, &dst->u, &why) == -1) ||
	    targetsfile_dup(&dst->unix_socket, src->unix_socket) == -1 ||
	    labels_copy(&dst->labels, &src->labels) == -1 ||
	    targetsfile_dup(&dst->tls.ca_file, src->tls.ca_file) == -1 ||
	    targetsfile_dup(&dst->tls.cert_file, src->tls.cert_file) == -1 ||
	    targetsfile_dup(&dst->tls.key_file, src->tls.key_file) == -1 ||
	    targetsfile_dup(&dst->tls.server_name, src->tls.server_name) ==
	    -1 || targetsfile_dup(&dst->source, src->source) == -1) {
		targetsfile_target_release(dst);
		return -1;
	}
	return 0;
}
