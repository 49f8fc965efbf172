/*
 * The YAML side of client/targets.c: the --targets.file schema and the
 * included files' (one `targets` entry, or a list of them), read strictly
 * with libyaml's document API as common/webconfig.c does.  Errors read
 * "FILE: line N: KEY: problem".  Internal to the targets module.
 */
#ifndef PUSHPROX_CLIENT_TARGETSFILE_H
#define PUSHPROX_CLIENT_TARGETSFILE_H

#include <stddef.h>

#include "targets.h"

/*
 * Reads the targets file at path into spec's labels, statics, sockdirs
 * and includes (spec otherwise empty).  Returns 0, or -1 with err; spec
 * then holds what was read so far, for targets_free.
 */
int targetsfile_read_main(const char *path, struct targets *spec, char *err,
    size_t errlen);

/*
 * Reads an included file, appending its targets to *v (*n of them, at
 * most max in all).  Returns 0, or -1 with err (*v keeps what it holds).
 */
int targetsfile_read_include(const char *path, struct target **v,
    size_t *n, size_t max, char *err, size_t errlen);

/* Frees what t holds (not t). */
void targetsfile_target_release(struct target *t);

/* Makes dst a deep copy of src.  Returns 0, or -1 (ENOMEM). */
int targetsfile_target_copy(struct target *dst, const struct target *src);

#endif
