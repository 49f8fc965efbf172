/*
 * Strict YAML reading.  libyaml's document API gives a node tree that a
 * parser walks against its schema; this file holds what every such walk
 * needs (the model of common/webconfig.c, shared with
 * client/targetsfile.c): loading a capped file, one error that names the
 * file, the line and the key (the first one wins, so a caller can return
 * -1 from any depth), scalar and null tests, mappings whose keys are
 * known and given once, and paths resolved against the file's folder.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yamlstrict.h"

int
yamlstrict_load(struct yamlstrict *p, const char *path, long max,
    const char *toobig, char *err, size_t errlen)
{
	yaml_parser_t parser;
	char *copy;
	FILE *f;
	long size;

	memset(p, 0, sizeof(*p));
	p->path = path;
	p->err = err;
	p->errlen = errlen;
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) < 0 ||
	    size > max || fseek(f, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "%s: cannot read, or larger than %s",
		    path, toobig);
		fclose(f);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &p->document)) {
		snprintf(err, errlen, "%s: line %lu: invalid YAML: %s", path,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	p->loaded = 1;
	if ((copy = strdup(path)) == NULL ||
	    (p->dir = strdup(dirname(copy))) == NULL) {
		free(copy);
		snprintf(err, errlen, "%s: out of memory", path);
		yamlstrict_close(p);
		return -1;
	}
	free(copy);
	return 0;
}

void
yamlstrict_close(struct yamlstrict *p)
{
	if (p->loaded)
		yaml_document_delete(&p->document);
	p->loaded = 0;
	free(p->dir);
	p->dir = NULL;
}

int
yamlstrict_fail(struct yamlstrict *p, const yaml_node_t *n, const char *key,
    const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->whymax != 0 && p->whymax < sizeof(why))
		why[p->whymax - 1] = '\0';
	snprintf(p->err, p->errlen, "%s: line %lu: %s%s%s", p->path,
	    n != NULL ? (unsigned long)n->start_mark.line + 1 : 0UL,
	    key != NULL ? key : "", key != NULL ? ": " : "", why);
	p->failed = 1;
	return -1;
}

yaml_node_t *
yamlstrict_node(struct yamlstrict *p, int id)
{
	return yaml_document_get_node(&p->document, id);
}

const char *
yamlstrict_scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	    (const char *)n->data.scalar.value : NULL;
}

int
yamlstrict_null_text(const char *s)
{
	return s != NULL && (*s == '\0' || strcmp(s, "null") == 0 ||
	    strcmp(s, "~") == 0);
}

int
yamlstrict_is_null(const yaml_node_t *n)
{
	return yamlstrict_null_text(yamlstrict_scalar(n)) &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

int
yamlstrict_repeated(struct yamlstrict *p, const yaml_node_t *map,
    const yaml_node_pair_t *pair)
{
	const yaml_node_pair_t *b;
	const char *ka, *kb;

	if ((ka = yamlstrict_scalar(yamlstrict_node(p, pair->key))) == NULL)
		return 0;
	for (b = map->data.mapping.pairs.start; b < pair; b++) {
		kb = yamlstrict_scalar(yamlstrict_node(p, b->key));
		if (kb != NULL && strcmp(ka, kb) == 0)
			return yamlstrict_fail(p, yamlstrict_node(p,
			    pair->key), ka, "duplicate key");
	}
	return 0;
}

int
yamlstrict_unique_keys(struct yamlstrict *p, const yaml_node_t *map)
{
	const yaml_node_pair_t *a;

	for (a = map->data.mapping.pairs.start;
	    a < map->data.mapping.pairs.top; a++)
		if (yamlstrict_repeated(p, map, a) == -1)
			return -1;
	return 0;
}

/*
 * what names the mapping in errors; known is NULL-terminated and list
 * spells it out for the reader.
 */
int
yamlstrict_keys(struct yamlstrict *p, const yaml_node_t *map,
    const char *what, const char *const *known, const char *list)
{
	const yaml_node_pair_t *a;
	const char *k;
	size_t i;

	if (map->type != YAML_MAPPING_NODE)
		return yamlstrict_fail(p, map, what, "must be a mapping (%s)",
		    list);
	for (a = map->data.mapping.pairs.start;
	    a < map->data.mapping.pairs.top; a++) {
		if ((k = yamlstrict_scalar(yamlstrict_node(p, a->key))) ==
		    NULL)
			return yamlstrict_fail(p, yamlstrict_node(p, a->key),
			    what, "keys must be text");
		for (i = 0; known[i] != NULL && strcmp(k, known[i]) != 0; i++)
			;
		if (known[i] == NULL)
			return yamlstrict_fail(p, yamlstrict_node(p, a->key),
			    k, "unknown key in %s (known: %s)", what, list);
		if (yamlstrict_repeated(p, map, a) == -1)
			return -1;
	}
	return 0;
}

yaml_node_t *
yamlstrict_get(struct yamlstrict *p, const yaml_node_t *map,
    const char *key)
{
	const yaml_node_pair_t *pair;
	yaml_node_t *v;
	const char *k;

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yamlstrict_scalar(yamlstrict_node(p, pair->key));
		if (k != NULL && strcmp(k, key) == 0) {
			v = yamlstrict_node(p, pair->value);
			return yamlstrict_is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

/* notpath is the reason given when n is not non-empty text. */
int
yamlstrict_path(struct yamlstrict *p, const yaml_node_t *n, const char *key,
    const char *notpath, char **out)
{
	const char *v = yamlstrict_scalar(n);
	size_t len;

	if (v == NULL || *v == '\0')
		return yamlstrict_fail(p, n, key, "%s", notpath);
	free(*out);
	if (*v == '/')
		*out = strdup(v);
	else {
		len = strlen(p->dir) + 1 + strlen(v) + 1;
		if ((*out = malloc(len)) != NULL)
			snprintf(*out, len, "%s/%s", p->dir, v);
	}
	if (*out == NULL)
		return yamlstrict_fail(p, n, key, "out of memory");
	return 0;
}
