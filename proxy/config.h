/*
 * The proxy's configuration: one flag table (config.c) fills this struct.
 * After parsing it is read-only and shared by every module.
 */
#ifndef PUSHPROX_PROXY_CONFIG_H
#define PUSHPROX_PROXY_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "flags.h"

struct proxy_config {
	char	*listen_address;
	int64_t	 scrape_default_timeout_ms;
	int64_t	 scrape_max_timeout_ms;
	int64_t	 registration_timeout_ms;
	int64_t	 poll_timeout_ms;
	int64_t	 max_polls_per_client;
	int64_t	 max_connections;
	int64_t	 max_header_bytes;
	int64_t	 max_push_bytes;
	int64_t	 read_timeout_ms;
	int64_t	 read_header_timeout_ms;
	int64_t	 idle_timeout_ms;
	int64_t	 write_timeout_ms;
	char	*web_config_file;
	int	 client_auth;
	int64_t	 auth_threads;
	int64_t	 auth_queue_size;
	int64_t	 auth_failure_limit;
	char	*client_tokens_file;
	int64_t	 shutdown_timeout_ms;
	int64_t	 stats_per_client;
	int64_t	 advertise_max_targets;
	int64_t	 advertise_max_label_bytes;
	int64_t	 advertise_max_bytes;
	int	 log_level;
	int	 log_format;
};

/* Parses argv into cfg (see flags.h for the result). */
enum flags_result proxy_config_parse(struct proxy_config *cfg, int argc,
    char **argv, FILE *out, FILE *err);

/* Frees what parsing allocated. */
void proxy_config_free(struct proxy_config *cfg);

/* The flag table (static; n rows), for the man page generator (man/). */
const struct flag_def *proxy_config_flags(size_t *n);

#endif
