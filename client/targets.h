/*
 * The client's named targets (--targets.file, issue 10; docs/protocol.md
 * and docs/prometheus.md):
 *
 *   labels: {site: berlin}              # every target of this client
 *   targets:                            # static targets
 *     - name: node                      # unique, [A-Za-z0-9_.-]+
 *       url: http://localhost:9100/metrics
 *       labels: {team: infra}
 *       tls: {ca_file: ca.crt, cert_file: c.crt, key_file: c.key,
 *             server_name: x, insecure_skip_verify: false}  # https only
 *     - name: xesite                    # over a Unix socket; the URL gives
 *       url: http://localhost/metrics   #   path, query and Host
 *       unix_socket: /srv/within/run/xesite.sock
 *   socket_dirs:                        # one target per NAME.sock
 *     - {dir: /srv/within/run, path: /metrics, labels: {via: aegis}}
 *   include: [/run/pushprox/targets.d]  # *.yml, *.yaml, *.json: one
 *                                       #   `targets` entry or a list
 *
 * Parsed strictly with libyaml, as the web config: an unknown key, a
 * duplicate key or name, a bad name, URL or label is an error naming the
 * file, the line and the key.  Relative paths are resolved against the
 * folder of the file that holds them.
 *
 * A set is the file's spec (labels, static targets, socket_dirs, include)
 * plus the effective targets: the static ones, one per socket found, and
 * those of the included files, sorted by name.  targets_load reads the
 * file (start-up, SIGHUP); targets_rescan re-reads only the directories
 * (client/targetwatch.c calls it when they change).  Both are atomic: on
 * any error the old set stays as it was and err says why.
 *
 * Loading runs at start-up or on a reload, never while serving; its
 * allocations are checked and fail the load with "out of memory".
 */
#ifndef PUSHPROX_CLIENT_TARGETS_H
#define PUSHPROX_CLIENT_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "labels.h"
#include "url.h"

struct advert;

enum targets_origin {
	TARGETS_STATIC,		/* the file's targets list */
	TARGETS_SOCKET,		/* a *.sock in a socket_dirs entry */
	TARGETS_INCLUDE,	/* a file of an include directory */
};

struct target_tls {
	char	*ca_file;	/* NULL: --tls.cacert, then the system store */
	char	*cert_file;	/* NULL: --tls.cert (with --tls.key) */
	char	*key_file;
	char	*server_name;	/* NULL: the URL's host */
	bool	 insecure_skip_verify;
};

struct target {
	char			*name;
	char			*url;		/* as written; socket targets:
						   http://localhost + path */
	struct url		 u;		/* url, parsed */
	char			*unix_socket;	/* absolute path, or NULL */
	struct labels		 labels;	/* its own (socket_dir's) */
	bool			 has_tls;	/* a tls: mapping was given */
	struct target_tls	 tls;
	enum targets_origin	 origin;
	/* "FILE:LINE" that defined it */
	char			*source;
};

struct targets_sockdir {
	char		*dir;		/* absolute */
	char		*path;		/* "/metrics" unless given */
	struct labels	 labels;
	char		*source;
};

/* Caps checked at load (defaults: LIMIT_* of issue 10). */
struct targets_limits {
	size_t	max_targets;
	size_t	max_label_bytes;
};

struct targets {
	char			*path;		/* the targets file */
	struct targets_limits	 limits;
	struct labels		 labels;	/* the file's labels: */
	struct target		*statics;
	size_t			 nstatics;
	struct targets_sockdir	*sockdirs;
	size_t			 nsockdirs;
	char			**includes;	/* absolute directories */
	size_t			 nincludes;
	struct target		*v;		/* effective, sorted by name */
	size_t			 n;
};

/* The caps at their LIMIT_* defaults. */
void targets_limits_default(struct targets_limits *lim);

/*
 * Reads path and scans its directories.  On success replaces *set (the
 * old one freed; *set may be NULL) with a set the caller frees with
 * targets_free, and returns 0.  On failure returns -1, leaves *set as it
 * was, and writes "FILE: line N: KEY: problem" into err.
 */
int targets_load(const char *path, const struct targets_limits *lim,
    struct targets **set, char *err, size_t errlen);

/*
 * Re-scans the socket and include directories of set.  Returns 1 if the
 * effective targets changed (set updated), 0 if not, or -1 with err (set
 * unchanged: a bad included file keeps the old set).
 */
int targets_rescan(struct targets *set, char *err, size_t errlen);

/* NULL is a no-op. */
void targets_free(struct targets *set);

/* The target called name, borrowed from set; NULL if none. */
const struct target *targets_find_by_name(const struct targets *set,
    const char *name);

/*
 * The TCP target a plain scrape of url stands for (as a Go proxy or a
 * static Prometheus config sends it: host the client's fqdn): same
 * scheme, port and path with query, and a host equal to url's or a
 * loopback host (localhost, 127.0.0.1, ::1) standing for fqdn.  Borrowed;
 * NULL if none (or url does not parse).
 */
const struct target *targets_find_by_url(const struct targets *set,
    const char *fqdn, const char *url);

/*
 * Whether path_query is a named-target path,
 * "/pushprox/targets/NAME/metrics" exactly; if so NAME is copied into
 * name (which has LIMIT_MAX_TARGET_NAME_BYTES + 1 bytes).
 */
bool targets_path_name(const char *path_query, char *name, size_t namelen);

/*
 * The advertisement of this client: flag_labels (--label, may be NULL)
 * under the file's labels (the file wins), every effective target with
 * its labels.  Caller frees with advert_free; NULL with err on failure.
 */
struct advert *targets_advert(const struct targets *set,
    const struct labels *flag_labels, const char *client_version,
    char *err, size_t errlen);

/*
 * Makes dst a deep copy of src, so that a scrape keeps its target while
 * the set is reloaded.  Returns 0, or -1 (ENOMEM; dst then empty).
 */
int targets_target_copy(struct target *dst, const struct target *src);

/* Frees what t holds (not t); t is then empty. */
void targets_target_release(struct target *t);

/*
 * The names of set's targets, ", "-separated and sorted, into out (always
 * NUL-terminated); a list that does not fit ends with "...".  "none" for
 * an empty or NULL set.
 */
void targets_list_names(const struct targets *set, char *out,
    size_t outlen);

/*
 * The directories to watch (socket_dirs, then include), borrowed; the
 * count goes into *n.  Index i < *n.
 */
const char *targets_dir(const struct targets *set, size_t i, size_t *n);

#endif
