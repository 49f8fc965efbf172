/*
 * The advertisement: what a client tells a proxy about itself in
 * POST /advertise (docs/protocol.md, "Advertising targets").
 *
 *   {"version":1,"client_version":"0.1.0","labels":{"site":"berlin"},
 *    "targets":[{"name":"node","labels":{"team":"infra"}}]}
 *
 * The client builds one from its labels and targets and encodes it; the
 * proxy decodes it strictly (unknown keys, wrong types, duplicate keys,
 * invalid names and values, and anything over a cap are refused with the
 * field and the limit named) and renders it into GET /targets and
 * GET /clients.  Targets are kept sorted by name, so the encoding is
 * canonical and its hash (the Pushprox-Targets tag) does not depend on
 * the order anything was added or the order of keys in a received body.
 *
 * Allocations are checked (the proxy decodes while serving): a failure
 * fails that one call with "out of memory".
 */
#ifndef PUSHPROX_ADVERT_H
#define PUSHPROX_ADVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labels.h"

#define ADVERT_VERSION		1	/* the "version" this code speaks */
#define ADVERT_MAX_TAG		64	/* fixed: bytes of a Pushprox-Targets */
#define ADVERT_MAX_CLIENT_VERSION 64	/* fixed: bytes of client_version */

struct advert_target {
	char		*name;		/* [A-Za-z0-9_.-]+, unique */
	struct labels	 labels;
};

struct advert {
	char			*client_version;	/* "" if not given */
	struct labels		 labels;		/* the client's */
	struct advert_target	*targets;		/* sorted by name */
	size_t			 ntargets;
};

/* The caps a proxy applies (flags; defaults in pushprox_limits.h). */
struct advert_limits {
	size_t	max_targets;		/* --advertise.max-targets */
	size_t	max_label_bytes;	/* --advertise.max-label-bytes */
	size_t	max_bytes;		/* --advertise.max-bytes */
};

/* The limits at their LIMIT_* defaults. */
void advert_limits_default(struct advert_limits *lim);

/* Whether name is a target name ([A-Za-z0-9_.-]+, capped, not only
 * dots); else *why says why. */
bool advert_name_ok(const char *name, const char **why);

/* Whether tag is a Pushprox-Targets value: 1 to 64 of [0-9A-Za-z_-]. */
bool advert_tag_ok(const char *tag);

/*
 * An empty advertisement of this client version (NULL: none).  Caller
 * frees with advert_free; NULL on ENOMEM.
 */
struct advert *advert_new(const char *client_version);

/* NULL is a no-op. */
void advert_free(struct advert *a);

/* Replaces the client's labels with a copy of ls.  0, or -1 (ENOMEM). */
int advert_set_labels(struct advert *a, const struct labels *ls);

/*
 * Adds a target with a copy of its labels (ls may be NULL).  Returns 0,
 * or -1 with err naming the target and the problem (bad or duplicate
 * name, out of memory).
 */
int advert_add_target(struct advert *a, const char *name,
    const struct labels *ls, char *err, size_t errlen);

/* The target called name, borrowed from a; NULL if absent. */
const struct advert_target *advert_find(const struct advert *a,
    const char *name);

/* Sum of the bytes of every label name and value (client and targets). */
size_t advert_label_bytes(const struct advert *a);

/*
 * Checks a against the caps.  Returns 0, or -1 with err naming the field
 * and the limit ("targets: 1001 targets, more than the 1000 allowed by
 * --advertise.max-targets").
 */
int advert_check(const struct advert *a, const struct advert_limits *lim,
    char *err, size_t errlen);

/*
 * The canonical JSON of a (sorted keys, targets by name, compact, no
 * newline); *len gets its length.  Caller frees with free(); NULL on
 * ENOMEM.
 */
char *advert_encode(const struct advert *a, size_t *len);

/*
 * Decodes and validates a POST /advertise body of len bytes.  Returns the
 * advertisement (caller frees with advert_free), or NULL with *status
 * the HTTP status to answer (400, 413, or 503 on ENOMEM) and err saying
 * which field broke which rule or limit.
 */
struct advert *advert_decode(const char *body, size_t len,
    const struct advert_limits *lim, int *status, char *err, size_t errlen);

/* The short hash of advert_encode(a).  Returns 0, or -1. */
int advert_hash(const struct advert *a, char out[LABELS_HASH_HEX + 1]);

/* The __metrics_path__ of target name: "/pushprox/targets/NAME/metrics". */
#define ADVERT_PATH_PREFIX	"/pushprox/targets/"
#define ADVERT_PATH_SUFFIX	"/metrics"

/*
 * The /targets and /clients renderers live in advertsd.c; their header is
 * included here so code that includes only advert.h (proxy/sd.c) still
 * sees them.
 */
#include "advertsd.h"

#endif
