/*
 * The client's configuration: the flag table (one row per flag, see
 * common/flags.h) and the values derived from it at start-up (default
 * FQDN, poll and push URLs resolved against --proxy-url, TLS files loaded
 * and matched, the bearer token read, the --scrape.allow list checked, the
 * --scrape.target-host redirection).  Filled once by config_load,
 * read-only afterwards.
 */
#ifndef PUSHPROX_CLIENT_CONFIG_H
#define PUSHPROX_CLIENT_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>

#include "flags.h"
#include "labels.h"

struct allow;

/* One --proxy-url and the URLs resolved against it (owned by the config). */
struct config_proxy {
	const char	*url;		/* as given (borrowed from the flag) */
	char		*poll_url;
	char		*push_url;
	char		*advertise_url;
	/* The same without credentials, for logs and metric labels. */
	char		*url_log;
	char		*poll_url_log;
	char		*push_url_log;
	char		*advertise_url_log;
};

/* --push.compression, in the order of config_push_compression_names. */
enum config_push_compression {
	CONFIG_PUSH_GZIP,
	CONFIG_PUSH_NONE,
};

struct client_config {
	/* From flags. */
	struct flag_strings proxy_url;	/* --proxy-url, repeatable */
	char	*fqdn;
	char	*metrics_addr;		/* "" disables the metrics listener */
	int64_t	 retry_initial_ms;
	int64_t	 retry_max_ms;
	int64_t	 poll_timeout_ms;
	char	*tls_cacert;
	char	*tls_cert;
	char	*tls_key;
	int64_t	 scrape_default_timeout_ms;
	int64_t	 scrape_max_bytes;
	int64_t	 scrape_max_concurrency;
	struct flag_strings scrape_allow;	/* patterns, see allow.h */
	char	*scrape_target_host;
	int	 scrape_redirects;	/* enum scrapereq_redirects */
	int64_t	 scrape_max_redirects;
	int	 push_compression;	/* enum config_push_compression */
	int64_t	 push_gzip_level;	/* zlib level, 1-9 */
	char	*auth_token_file;
	int64_t	 shutdown_timeout_ms;	/* --shutdown-timeout */
	char	*targets_file;		/* --targets.file, or NULL */
	int64_t	 targets_rescan_ms;
	struct flag_strings label;	/* --label NAME=VALUE */
	int	 log_level;		/* enum log_level */
	int	 log_format;		/* enum log_format */

	/* Derived by config_load; owned. */
	struct config_proxy *proxies;	/* one per --proxy-url, in order */
	size_t	 nproxies;
	struct allow	*allow;		/* --scrape.allow; empty: any */
	/* "Authorization: Bearer ..." or NULL */
	char		*auth_header;
	/*
	 * --scrape.target-host as CURLOPT_CONNECT_TO ("fqdn::host:"), or
	 * NULL.
	 */
	struct curl_slist *connect_to;
	struct labels	 labels;	/* --label, checked */
};

enum config_result {
	CONFIG_RUN,	/* cfg filled in */
	CONFIG_EXIT_OK,	/* --help or --version printed */
	CONFIG_EXIT_ERR,	/* a message naming the flag went to err */
};

/*
 * Parses argv into cfg, fills the defaults that need the system (FQDN),
 * loads the TLS files and the token, checks the --scrape.* values and
 * derives the poll and push URLs.  On CONFIG_RUN the caller frees with
 * config_free; otherwise nothing is left to free.
 */
enum config_result config_load(struct client_config *cfg, int argc,
    char **argv, FILE *out, FILE *err);

/* Frees what config_load stored in cfg. NULL is a no-op. */
void config_free(struct client_config *cfg);

/* The flag table (static; n rows), for the man page generator (man/). */
const struct flag_def *config_flags_table(size_t *n);

/* Sets the --tls.* options on a transfer to the proxy; 0 or -1. */
int config_apply_tls(const struct client_config *cfg, CURL *easy);

/*
 * Appends the proxy's headers (the bearer token, if any) to *hdrs, for
 * /poll and /push only; 0 or -1 on ENOMEM (*hdrs is then unchanged or
 * still the caller's to free).
 */
int config_append_auth(const struct client_config *cfg,
    struct curl_slist **hdrs);

/*
 * What a 401 or 403 from the proxy means for this configuration, for the
 * log: a static string naming the flag to look at.
 */
const char *config_auth_refusal(const struct client_config *cfg,
    long status);

#endif
