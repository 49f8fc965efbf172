/*
 * Reading targets files.  libyaml's document API gives a node tree that
 * we walk against the schema, failing on the first problem with its line
 * (with common/yamlstrict.c, as common/webconfig.c does).  Every value is
 * checked here, so a target that leaves this file is valid: its name, its
 * URL (http or https, parsed by common/url.c), its labels
 * (common/labels.c), its TLS settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "advert.h"
#include "pushprox_limits.h"
#include "targetsfile.h"
#include "yamlstrict.h"

static int
targetsfile_string(struct yamlstrict *p, const yaml_node_t *n,
    const char *key, char **out)
{
	const char *v = yamlstrict_scalar(n);

	if (v == NULL || *v == '\0')
		return yamlstrict_fail(p, n, key, "must be non-empty text");
	if ((*out = strdup(v)) == NULL)
		return yamlstrict_fail(p, n, key, "out of memory");
	return 0;
}

/* A path, resolved against the folder of the file being read. */
static int
targetsfile_path(struct yamlstrict *p, const yaml_node_t *n,
    const char *key, char **out)
{
	return yamlstrict_path(p, n, key, "must be a path", out);
}

static int
targetsfile_labels(struct yamlstrict *p, const yaml_node_t *map,
    struct labels *ls)
{
	yaml_node_pair_t *pair;
	const yaml_node_t *k, *v;
	const char *name, *value;
	char why[512];

	if (map->type != YAML_MAPPING_NODE)
		return yamlstrict_fail(p, map, "labels", "must be a mapping "
		    "of name: value");
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yamlstrict_node(p, pair->key);
		v = yamlstrict_node(p, pair->value);
		if ((name = yamlstrict_scalar(k)) == NULL)
			return yamlstrict_fail(p, k, "labels",
			    "names must be text");
		if ((value = yamlstrict_scalar(v)) == NULL)
			return yamlstrict_fail(p, v, name,
			    "label values must be text");
		if (labels_set(ls, name, value, false, why, sizeof(why)) == -1)
			return yamlstrict_fail(p, k, "labels", "%s", why);
	}
	return 0;
}

static int
targetsfile_tls(struct yamlstrict *p, const yaml_node_t *map,
    struct target *t)
{
	static const char *const known[] = { "ca_file", "cert_file",
	    "key_file", "server_name", "insecure_skip_verify", NULL };
	static const char list[] = "ca_file, cert_file, key_file, "
	    "server_name, insecure_skip_verify";
	const yaml_node_t *v;
	const char *s;

	if (yamlstrict_keys(p, map, "tls", known, list) == -1)
		return -1;
	t->has_tls = true;
	if (((v = yamlstrict_get(p, map, "ca_file")) != NULL &&
	    targetsfile_path(p, v, "ca_file", &t->tls.ca_file) == -1) ||
	    ((v = yamlstrict_get(p, map, "cert_file")) != NULL &&
	    targetsfile_path(p, v, "cert_file", &t->tls.cert_file) == -1) ||
	    ((v = yamlstrict_get(p, map, "key_file")) != NULL &&
	    targetsfile_path(p, v, "key_file", &t->tls.key_file) == -1) ||
	    ((v = yamlstrict_get(p, map, "server_name")) != NULL &&
	    targetsfile_string(p, v, "server_name", &t->tls.server_name) ==
	    -1))
		return -1;
	if ((v = yamlstrict_get(p, map, "insecure_skip_verify")) != NULL) {
		s = yamlstrict_scalar(v);
		if (s != NULL && strcmp(s, "true") == 0)
			t->tls.insecure_skip_verify = true;
		else if (s == NULL || strcmp(s, "false") != 0)
			return yamlstrict_fail(p, v, "insecure_skip_verify",
			    "must be true or false");
	}
	if ((t->tls.cert_file == NULL) != (t->tls.key_file == NULL))
		return yamlstrict_fail(p, map, "tls", "cert_file and key_file "
		    "go together");
	return 0;
}

static int
targetsfile_source(struct yamlstrict *p, const yaml_node_t *n,
    char **out)
{
	size_t len = strlen(p->path) + 24;

	if ((*out = malloc(len)) == NULL)
		return yamlstrict_fail(p, n, NULL, "out of memory");
	snprintf(*out, len, "%s:%lu", p->path,
	    (unsigned long)n->start_mark.line + 1);
	return 0;
}

/* One `targets` entry into t (zeroed by the caller). */
static int
targetsfile_target(struct yamlstrict *p, const yaml_node_t *map,
    struct target *t, enum targets_origin origin)
{
	static const char *const known[] = { "name", "url", "labels",
	    "unix_socket", "tls", NULL };
	static const char list[] = "name, url, labels, unix_socket, tls";
	const yaml_node_t *v;
	const char *why;

	labels_init(&t->labels);
	t->origin = origin;
	if (yamlstrict_keys(p, map, "target", known, list) == -1 ||
	    targetsfile_source(p, map, &t->source) == -1)
		return -1;
	if ((v = yamlstrict_get(p, map, "name")) == NULL)
		return yamlstrict_fail(p, map, "name", "required");
	if (targetsfile_string(p, v, "name", &t->name) == -1)
		return -1;
	if (!advert_name_ok(t->name, &why))
		return yamlstrict_fail(p, v, "name", "\"%s\": %s", t->name,
		    why);
	if ((v = yamlstrict_get(p, map, "url")) == NULL)
		return yamlstrict_fail(p, map, "url", "required (target %s)",
		    t->name);
	if (targetsfile_string(p, v, "url", &t->url) == -1)
		return -1;
	if (url_parse(t->url, &t->u, &why) == -1)
		return yamlstrict_fail(p, v, "url", "\"%s\": %s (an absolute "
		    "http:// or https:// URL)", t->url, why);
	if (!url_connectable(&t->u))
		return yamlstrict_fail(p, v, "url", "\"%s\": port 0 is the "
		    "named-target route, not a port to connect to", t->url);
	if ((v = yamlstrict_get(p, map, "labels")) != NULL &&
	    targetsfile_labels(p, v, &t->labels) == -1)
		return -1;
	if ((v = yamlstrict_get(p, map, "unix_socket")) != NULL &&
	    targetsfile_path(p, v, "unix_socket", &t->unix_socket) == -1)
		return -1;
	if ((v = yamlstrict_get(p, map, "tls")) != NULL) {
		if (strcmp(t->u.scheme, "https") != 0)
			return yamlstrict_fail(p, v, "tls", "only for https "
			    "URLs (target %s is %s)", t->name, t->url);
		if (targetsfile_tls(p, v, t) == -1)
			return -1;
	}
	return 0;
}

/* A sequence of entries (or, for an included file, one) onto *v. */
static int
targetsfile_targets(struct yamlstrict *p, const yaml_node_t *n,
    struct target **v, size_t *nv, size_t max, enum targets_origin origin)
{
	yaml_node_item_t *it, *start, *top, one;
	struct target *nt;

	if (n->type == YAML_MAPPING_NODE && origin == TARGETS_INCLUDE) {
		one = (yaml_node_item_t)(n - p->document.nodes.start + 1);
		start = &one;
		top = start + 1;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		start = n->data.sequence.items.start;
		top = n->data.sequence.items.top;
	} else
		return yamlstrict_fail(p, n, "targets", "must be a list of "
		    "targets");
	for (it = start; it < top; it++) {
		if (*nv >= max)
			return yamlstrict_fail(p, yamlstrict_node(p, *it),
			    "targets", "more than %zu targets", max);
		if ((nt = reallocarray(*v, *nv + 1, sizeof(*nt))) == NULL)
			return yamlstrict_fail(p, n, "targets",
			    "out of memory");
		*v = nt;
		memset(&nt[*nv], 0, sizeof(*nt));
		(*nv)++;
		if (targetsfile_target(p, yamlstrict_node(p, *it),
		    &nt[*nv - 1], origin) == -1)
			return -1;
	}
	return 0;
}

static int
targetsfile_sockdirs(struct yamlstrict *p, const yaml_node_t *n,
    struct targets *spec)
{
	static const char *const known[] = { "dir", "path", "labels", NULL };
	yaml_node_item_t *it;
	struct targets_sockdir *sd;
	const yaml_node_t *map, *v;

	if (n->type != YAML_SEQUENCE_NODE)
		return yamlstrict_fail(p, n, "socket_dirs", "must be a list "
		    "of {dir, path, labels}");
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		map = yamlstrict_node(p, *it);
		if ((sd = reallocarray(spec->sockdirs, spec->nsockdirs + 1,
		    sizeof(*sd))) == NULL)
			return yamlstrict_fail(p, n, "socket_dirs",
			    "out of memory");
		spec->sockdirs = sd;
		sd = &sd[spec->nsockdirs++];
		memset(sd, 0, sizeof(*sd));
		labels_init(&sd->labels);
		if (yamlstrict_keys(p, map, "socket_dirs", known,
		    "dir, path, labels") == -1 ||
		    targetsfile_source(p, map, &sd->source) == -1)
			return -1;
		if ((v = yamlstrict_get(p, map, "dir")) == NULL)
			return yamlstrict_fail(p, map, "dir", "required");
		if (targetsfile_path(p, v, "dir", &sd->dir) == -1)
			return -1;
		if ((v = yamlstrict_get(p, map, "path")) != NULL) {
			if (targetsfile_string(p, v, "path", &sd->path) == -1)
				return -1;
			if (sd->path[0] != '/' || strpbrk(sd->path, " #") !=
			    NULL)
				return yamlstrict_fail(p, v, "path", "must "
				    "start with / and hold no space or #");
		} else if ((sd->path = strdup("/metrics")) == NULL)
			return yamlstrict_fail(p, map, "path", "out of memory");
		if ((v = yamlstrict_get(p, map, "labels")) != NULL &&
		    targetsfile_labels(p, v, &sd->labels) == -1)
			return -1;
	}
	return 0;
}

static int
targetsfile_includes(struct yamlstrict *p, const yaml_node_t *n,
    struct targets *spec)
{
	yaml_node_item_t *it;
	char **inc;

	if (n->type != YAML_SEQUENCE_NODE)
		return yamlstrict_fail(p, n, "include", "must be a list of "
		    "directories");
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((inc = reallocarray(spec->includes, spec->nincludes + 1,
		    sizeof(*inc))) == NULL)
			return yamlstrict_fail(p, n, "include",
			    "out of memory");
		spec->includes = inc;
		inc[spec->nincludes] = NULL;
		if (targetsfile_path(p, yamlstrict_node(p, *it), "include",
		    &inc[spec->nincludes]) == -1)
			return -1;
		spec->nincludes++;
	}
	return 0;
}

static int
targetsfile_root(struct yamlstrict *p, struct targets *spec)
{
	static const char *const known[] = { "labels", "targets",
	    "socket_dirs", "include", NULL };
	const yaml_node_t *root, *v;

	root = yaml_document_get_root_node(&p->document);
	if (root == NULL)
		return 0;	/* an empty file: no targets */
	if (yamlstrict_keys(p, root, "the file", known,
	    "labels, targets, socket_dirs, include") == -1)
		return -1;
	if ((v = yamlstrict_get(p, root, "labels")) != NULL &&
	    targetsfile_labels(p, v, &spec->labels) == -1)
		return -1;
	if ((v = yamlstrict_get(p, root, "targets")) != NULL &&
	    targetsfile_targets(p, v, &spec->statics, &spec->nstatics,
	    spec->limits.max_targets, TARGETS_STATIC) == -1)
		return -1;
	if ((v = yamlstrict_get(p, root, "socket_dirs")) != NULL &&
	    targetsfile_sockdirs(p, v, spec) == -1)
		return -1;
	if ((v = yamlstrict_get(p, root, "include")) != NULL &&
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
    int (*fn)(struct yamlstrict *, void *), void *arg)
{
	struct yamlstrict p;
	int rv;

	if (yamlstrict_load(&p, path, LIMIT_MAX_TARGETS_FILE_BYTES, "1 MiB",
	    err, errlen) == -1)
		return -1;
	rv = fn(&p, arg);
	yamlstrict_close(&p);
	return rv;
}

static int
targetsfile_main_cb(struct yamlstrict *p, void *arg)
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
targetsfile_include_cb(struct yamlstrict *p, void *arg)
{
	struct targetsfile_include *inc = arg;
	const yaml_node_t *root = yaml_document_get_root_node(&p->document);

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
