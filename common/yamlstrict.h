/*
 * Strict YAML reading over libyaml's document API, shared by the parsers
 * of common/webconfig.c and client/targetsfile.c: one parse context, the
 * first error wins and names the file, the line and the key.
 */
#ifndef PUSHPROX_YAMLSTRICT_H
#define PUSHPROX_YAMLSTRICT_H

#include <stddef.h>

#include <yaml.h>

struct yamlstrict {
	yaml_document_t	 document;	/* valid between load and close */
	int		 loaded;
	const char	*path;		/* the file, as named in errors */
	char		*dir;		/* its folder, for relative paths */
	char		*err;
	size_t		 errlen;
	size_t		 whymax;	/* reason cut to this size; 0: 512 */
	int		 failed;	/* an error is in err: keep it */
};

/* Reads path (at most max bytes, toobig names the cap) into p->document. */
int		 yamlstrict_load(struct yamlstrict *, const char *path,
		    long max, const char *toobig, char *err, size_t errlen);
/* Frees what yamlstrict_load made; harmless after a failed load. */
void		 yamlstrict_close(struct yamlstrict *);
/* Writes "FILE: line N: KEY: why" unless an error is there; returns -1. */
int		 yamlstrict_fail(struct yamlstrict *, const yaml_node_t *,
		    const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* The node with this id in the document, or NULL. */
yaml_node_t	*yamlstrict_node(struct yamlstrict *, int id);
/* The text of a scalar node; NULL for any other node or NULL. */
const char	*yamlstrict_scalar(const yaml_node_t *);
/* Whether s is one of YAML's null spellings: "", "null", "~". */
int		 yamlstrict_null_text(const char *s);
/* Whether n is a plain (unquoted) null scalar: "key:", null or ~. */
int		 yamlstrict_is_null(const yaml_node_t *);
/* Fails with "duplicate key" if pair's key text repeats an earlier one. */
int		 yamlstrict_repeated(struct yamlstrict *,
		    const yaml_node_t *map, const yaml_node_pair_t *pair);
/* Fails on the first key of map given twice (map must be a mapping). */
int		 yamlstrict_unique_keys(struct yamlstrict *,
		    const yaml_node_t *map);
/* Checks map is a mapping of text keys, each once and one of known. */
int		 yamlstrict_keys(struct yamlstrict *, const yaml_node_t *map,
		    const char *what, const char *const *known,
		    const char *list);
/* The value of key in map (checked by yamlstrict_keys); NULL if null. */
yaml_node_t	*yamlstrict_get(struct yamlstrict *, const yaml_node_t *map,
		    const char *key);
/* A path into *out (freed first), relative ones against p->dir. */
int		 yamlstrict_path(struct yamlstrict *, const yaml_node_t *,
		    const char *key, const char *notpath, char **out);

#endif
