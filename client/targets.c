/*
 * The effective target set: the static targets of the file, one target per
 * NAME.sock of each socket directory, and the targets of each included
 * file, built into a fresh sorted array that replaces the old one only
 * when everything checked out (names unique, caps kept).  The directories
 * are read in name order so that errors and sources are reproducible.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "advert.h"
#include "pushprox_limits.h"
#include "targets.h"
#include "targetsfile.h"

void
targets_limits_default(struct targets_limits *lim)
{
	lim->max_targets = LIMIT_MAX_TARGETS_PER_CLIENT;
	lim->max_label_bytes = LIMIT_MAX_LABEL_BYTES_PER_CLIENT;
}

static void
targets_vec_free(struct target *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		targetsfile_target_release(&v[i]);
	free(v);
}

void
targets_free(struct targets *set)
{
	size_t i;

	if (set == NULL)
		return;
	free(set->path);
	labels_release(&set->labels);
	targets_vec_free(set->statics, set->nstatics);
	for (i = 0; i < set->nsockdirs; i++) {
		free(set->sockdirs[i].dir);
		free(set->sockdirs[i].path);
		free(set->sockdirs[i].source);
		labels_release(&set->sockdirs[i].labels);
	}
	free(set->sockdirs);
	for (i = 0; i < set->nincludes; i++)
		free(set->includes[i]);
	free(set->includes);
	targets_vec_free(set->v, set->n);
	free(set);
}

static int
targets_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct target *)a)->name,
	    ((const struct target *)b)->name);
}

static int
targets_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in dir ending in suffix (any of the '|'-separated ones),
 * sorted, hidden files skipped; *n of them.  Caller frees each and the
 * array.  Returns 0, or -1 with err.
 */
static int
targets_list_dir(const char *dir, const char *const *suffixes, size_t max,
    char ***out, size_t *n, char *err, size_t errlen)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t i, len, slen;
	DIR *d;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: cannot read directory: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		len = strlen(de->d_name);
		for (i = 0; suffixes[i] != NULL; i++) {
			slen = strlen(suffixes[i]);
			if (len > slen && strcmp(de->d_name + len - slen,
			    suffixes[i]) == 0)
				break;
		}
		if (suffixes[i] == NULL)
			continue;
		if (*n >= max) {
			snprintf(err, errlen, "%s: more than %zu entries",
			    dir, max);
			goto fail;
		}
		if ((nv = reallocarray(v, *n + 1, sizeof(*v))) == NULL ||
		    (nv[*n] = strdup(de->d_name)) == NULL) {
			if (nv != NULL)
				v = nv;
			snprintf(err, errlen, "%s: out of memory", dir);
			goto fail;
		}
		v = nv;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), targets_cmp_str);
	*out = v;
	return 0;
fail:
	closedir(d);
	for (i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	*n = 0;
	return -1;
}

/* Appends one target per NAME.sock (a socket) of sd. */
static int
targets_scan_sockets(const struct targets_sockdir *sd, size_t max,
    struct target **v, size_t *n, char *err, size_t errlen)
{
	static const char *const sfx[] = { ".sock", NULL };
	struct target *t, *nv;
	struct stat st;
	char **names, path[4096];
	const char *why;
	size_t i, nn, len;
	int rv = -1;

	if (targets_list_dir(sd->dir, sfx, max, &names, &nn, err, errlen) ==
	    -1)
		return -1;
	for (i = 0; i < nn; i++) {
		len = strlen(names[i]) - strlen(".sock");
		names[i][len] = '\0';
		if (snprintf(path, sizeof(path), "%s/%s.sock", sd->dir,
		    names[i]) >= (int)sizeof(path) ||
		    stat(path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
		    !advert_name_ok(names[i], &why))
			continue;	/* not a socket, or not a name: skip */
		if (*n >= max) {
			snprintf(err, errlen, "%s: more than %zu targets",
			    sd->dir, max);
			goto out;
		}
		if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL)
			goto nomem;
		*v = nv;
		t = &nv[(*n)++];
		memset(t, 0, sizeof(*t));
		labels_init(&t->labels);
		t->origin = TARGETS_SOCKET;
		len = strlen("http://localhost") + strlen(sd->path) + 1;
		if ((t->name = strdup(names[i])) == NULL ||
		    (t->unix_socket = strdup(path)) == NULL ||
		    (t->source = strdup(sd->source)) == NULL ||
		    (t->url = malloc(len)) == NULL ||
		    labels_copy(&t->labels, &sd->labels) == -1)
			goto nomem;
		snprintf(t->url, len, "http://localhost%s", sd->path);
		if (url_parse(t->url, &t->u, &why) == -1) {
			snprintf(err, errlen, "%s: path %s: %s", sd->source,
			    sd->path, why);
			free(t->url);
			t->url = NULL;
			goto out;
		}
	}
	rv = 0;
	goto out;
nomem:
	snprintf(err, errlen, "%s: out of memory", sd->dir);
out:
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rv;
}

static int
targets_scan_include(const char *dir, size_t max, struct target **v,
    size_t *n, char *err, size_t errlen)
{
	static const char *const sfx[] = { ".yml", ".yaml", ".json", NULL };
	char **names, path[4096];
	struct stat st;
	size_t i, nn;
	int rv = 0;

	if (targets_list_dir(dir, sfx, max, &names, &nn, err, errlen) == -1)
		return -1;
	for (i = 0; i < nn && rv == 0; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path) || stat(path, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		rv = targetsfile_read_include(path, v, n, max, err, errlen);
	}
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rv;
}

/* Builds the effective targets of spec into *out (sorted, checked). */
static int
targets_build(const struct targets *spec, struct target **out, size_t *nout,
    char *err, size_t errlen)
{
	const size_t max = spec->limits.max_targets;
	struct target *v = NULL;
	size_t i, n = 0, bytes = spec->labels.bytes;

	if (spec->nstatics > 0 &&
	    (v = calloc(spec->nstatics, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", spec->path);
		return -1;
	}
	for (; n < spec->nstatics; n++)
		if (targetsfile_target_copy(&v[n], &spec->statics[n]) == -1) {
			snprintf(err, errlen, "%s: out of memory", spec->path);
			goto fail;
		}
	for (i = 0; i < spec->nsockdirs; i++)
		if (targets_scan_sockets(&spec->sockdirs[i], max, &v, &n, err,
		    errlen) == -1)
			goto fail;
	for (i = 0; i < spec->nincludes; i++)
		if (targets_scan_include(spec->includes[i], max, &v, &n, err,
		    errlen) == -1)
			goto fail;
	if (n > 0)
		qsort(v, n, sizeof(*v), targets_cmp_name);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1].name, v[i].name) == 0) {
			snprintf(err, errlen, "duplicate target name \"%s\" "
			    "(%s and %s)", v[i].name, v[i - 1].source,
			    v[i].source);
			goto fail;
		}
		bytes += v[i].labels.bytes;
	}
	if (bytes > spec->limits.max_label_bytes) {
		snprintf(err, errlen, "%s: %zu bytes of label names and "
		    "values, more than the %zu allowed", spec->path, bytes,
		    spec->limits.max_label_bytes);
		goto fail;
	}
	*out = v;
	*nout = n;
	return 0;
fail:
	targets_vec_free(v, n);
	return -1;
}

int
targets_load(const char *path, const struct targets_limits *lim,
    struct targets **set, char *err, size_t errlen)
{
	struct targets *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(s);
		return -1;
	}
	labels_init(&s->labels);
	s->limits = *lim;
	if (targetsfile_read_main(path, s, err, errlen) == -1 ||
	    targets_build(s, &s->v, &s->n, err, errlen) == -1) {
		targets_free(s);
		return -1;
	}
	targets_free(*set);
	*set = s;
	return 0;
}

static bool
targets_str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
targets_equal(const struct target *a, const struct target *b)
{
	return strcmp(a->name, b->name) == 0 &&
	    targets_str_eq(a->url, b->url) &&
	    targets_str_eq(a->unix_socket, b->unix_socket) &&
	    labels_equal(&a->labels, &b->labels) &&
	    a->has_tls == b->has_tls &&
	    targets_str_eq(a->tls.ca_file, b->tls.ca_file) &&
	    targets_str_eq(a->tls.cert_file, b->tls.cert_file) &&
	    targets_str_eq(a->tls.key_file, b->tls.key_file) &&
	    targets_str_eq(a->tls.server_name, b->tls.server_name) &&
	    a->tls.insecure_skip_verify == b->tls.insecure_skip_verify;
}

int
targets_rescan(struct targets *set, char *err, size_t errlen)
{
	struct target *v;
	size_t i, n;

	if (targets_build(set, &v, &n, err, errlen) == -1)
		return -1;
	for (i = 0; n == set->n && i < n; i++)
		if (!targets_equal(&v[i], &set->v[i]))
			break;
	if (n == set->n && i == n) {
		targets_vec_free(v, n);
		return 0;
	}
	targets_vec_free(set->v, set->n);
	set->v = v;
	set->n = n;
	return 1;
}

const struct target *
targets_find_by_name(const struct targets *set, const char *name)
{
	struct target key;

	if (set->n == 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, set->v, set->n, sizeof(key), targets_cmp_name);
}

static bool
targets_loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 ||
	    strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0;
}

const struct target *
targets_find_by_url(const struct targets *set, const char *fqdn,
    const char *url)
{
	const struct target *t, *found = NULL;
	const char *why;
	struct url u;
	size_t i;

	if (url_parse(url, &u, &why) == -1)
		return NULL;
	for (i = 0; i < set->n && found == NULL; i++) {
		t = &set->v[i];
		if (t->unix_socket != NULL ||
		    strcmp(t->u.scheme, u.scheme) != 0 ||
		    t->u.port != u.port ||
		    strcmp(t->u.path_query, u.path_query) != 0)
			continue;
		if (strcasecmp(t->u.host, u.host) == 0 ||
		    (targets_loopback(t->u.host) && strcasecmp(u.host, fqdn) ==
		    0))
			found = t;
	}
	url_release(&u);
	return found;
}

bool
targets_path_name(const char *path_query, char *name, size_t namelen)
{
	const size_t plen = strlen(ADVERT_PATH_PREFIX);
	const size_t slen = strlen(ADVERT_PATH_SUFFIX);
	size_t len = strlen(path_query), nlen;
	const char *why;

	if (len <= plen + slen ||
	    strncmp(path_query, ADVERT_PATH_PREFIX, plen) != 0 ||
	    strcmp(path_query + len - slen, ADVERT_PATH_SUFFIX) != 0)
		return false;
	nlen = len - plen - slen;
	if (nlen >= namelen || nlen > LIMIT_MAX_TARGET_NAME_BYTES)
		return false;
	memcpy(name, path_query + plen, nlen);
	name[nlen] = '\0';
	return advert_name_ok(name, &why);
}

struct advert *
targets_advert(const struct targets *set, const struct labels *flag_labels,
    const char *client_version, char *err, size_t errlen)
{
	struct advert *a;
	struct labels ls;
	size_t i;

	err[0] = '\0';
	labels_init(&ls);
	if ((a = advert_new(client_version)) == NULL) {
		snprintf(err, errlen, "advertisement: out of memory");
		return NULL;
	}
	if ((flag_labels != NULL && labels_merge(&ls, flag_labels, err,
	    errlen) == -1) ||
	    (set != NULL && labels_merge(&ls, &set->labels, err, errlen) ==
	    -1) || advert_set_labels(a, &ls) == -1)
		goto fail;
	for (i = 0; set != NULL && i < set->n; i++)
		if (advert_add_target(a, set->v[i].name, &set->v[i].labels,
		    err, errlen) == -1)
			goto fail;
	labels_release(&ls);
	return a;
fail:
	if (err[0] == '\0')
		snprintf(err, errlen, "advertisement: out of memory");
	labels_release(&ls);
	advert_free(a);
	return NULL;
}

int
targets_target_copy(struct target *dst, const struct target *src)
{
	return targetsfile_target_copy(dst, src);
}

void
targets_target_release(struct target *t)
{
	targetsfile_target_release(t);
}

void
targets_list_names(const struct targets *set, char *out, size_t outlen)
{
	size_t	 i, off = 0, n;
	int	 w;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (set == NULL || set->n == 0) {
		snprintf(out, outlen, "none");
		return;
	}
	for (i = 0; i < set->n; i++) {
		n = strlen(set->v[i].name) + (i > 0 ? 2 : 0);
		/* Keep room for ", ..." after the last name that fits. */
		if (off + n + (i + 1 < set->n ? 5 : 0) >= outlen) {
			snprintf(out + off, outlen - off, "%s...",
			    i > 0 ? ", " : "");
			return;
		}
		w = snprintf(out + off, outlen - off, "%s%s", i > 0 ? ", " :
		    "", set->v[i].name);
		off += (size_t)w;
	}
}

const char *
targets_dir(const struct targets *set, size_t i, size_t *n)
{
	*n = set->nsockdirs + set->nincludes;
	if (i < set->nsockdirs)
		return set->sockdirs[i].dir;
	if (i < *n)
		return set->includes[i - set->nsockdirs];
	return NULL;
}
