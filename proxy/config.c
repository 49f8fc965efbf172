/*
 * The proxy's flag table: names and defaults follow the reference PushProx
 * proxy where it has the flag.  Every default that is a limit comes from
 * common/pushprox_limits.h (LIMIT_STR), never a second literal.
 */
#include <stddef.h>

#include "clientauth.h"
#include "config.h"
#include "pushprox_limits.h"
#include "log.h"
#include "version.h"

#define DAY_MS	(24LL * 3600 * 1000)
#define OFF(f)	offsetof(struct proxy_config, f)

static const struct flag_def proxy_flags[] = {
	{ "web.listen-address", FLAG_STRING, ":8080", 0, 0, NULL,
	  OFF(listen_address), FLAG_REQUIRED,
	  "Address to listen on for Prometheus and clients (host:port, :port "
	  "or [v6]:port)" },
	{ "scrape.default-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_SCRAPE_TIMEOUT_S) "s", 1, DAY_MS, NULL,
	  OFF(scrape_default_timeout_ms), 0,
	  "Scrape timeout when Prometheus sends no "
	  "X-Prometheus-Scrape-Timeout-Seconds" },
	{ "scrape.max-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_SCRAPE_MAX_TIMEOUT_MIN) "m", 1, DAY_MS, NULL,
	  OFF(scrape_max_timeout_ms), 0,
	  "Longer scrape timeouts are clamped to this" },
	{ "registration.timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_REGISTRATION_MIN) "m", 1000, 365 * DAY_MS,
	  NULL, OFF(registration_timeout_ms), 0,
	  "A client with no poll open and none within this long leaves "
	  "/clients" },
	{ "poll.timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_POLL_TIMEOUT_S) "s", 100, DAY_MS, NULL,
	  OFF(poll_timeout_ms), 0,
	  "A poll that gets no scrape within this long is answered 204 (keep "
	  "it below load balancers' idle timeouts)" },
	{ "poll.max-per-client", FLAG_INT,
	  LIMIT_STR(LIMIT_MAX_POLLS_PER_FQDN), 1, 100000, NULL,
	  OFF(max_polls_per_client), 0,
	  "Polls one FQDN may have waiting at once; more are answered 429" },
	{ "web.max-connections", FLAG_INT,
	  LIMIT_STR(LIMIT_MAX_CONNECTIONS), 1, 10000000, NULL,
	  OFF(max_connections), 0,
	  "Open connections at most; more are answered 503 and closed" },
	{ "web.max-header-size", FLAG_BYTES,
	  LIMIT_STR(LIMIT_MAX_HEADER_KIB) "KiB", 1024, 1 << 20, NULL,
	  OFF(max_header_bytes), 0,
	  "Largest request line plus headers (also of a pushed response)" },
	{ "push.max-size", FLAG_BYTES,
	  LIMIT_STR(LIMIT_MAX_PUSH_MIB) "MiB", 1024, 1LL << 40, NULL,
	  OFF(max_push_bytes), 0,
	  "Largest push body (a scrape result); larger ones are answered 413" },
	{ "web.read-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_READ_TIMEOUT_S) "s", 100, DAY_MS, NULL,
	  OFF(read_timeout_ms), 0,
	  "A request whose head or body stalls this long is dropped" },
	{ "web.read-header-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_READ_HEADER_TIMEOUT_S) "s", 100, DAY_MS, NULL,
	  OFF(read_header_timeout_ms), 0,
	  "A request head not complete this long after its first byte (a new "
	  "connection's: after accept, TLS handshake included) is answered "
	  "408 and its connection closed, however slowly bytes arrive" },
	{ "web.idle-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_IDLE_TIMEOUT_MIN) "m", 100, DAY_MS, NULL,
	  OFF(idle_timeout_ms), 0,
	  "A keep-alive connection idle this long between requests is closed" },
	{ "web.write-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_WRITE_TIMEOUT_S) "s", 100, DAY_MS, NULL,
	  OFF(write_timeout_ms), 0,
	  "A reply that cannot be written for this long is dropped" },
	{ "web.config.file", FLAG_STRING, "", 0, 0, NULL,
	  OFF(web_config_file), 0,
	  "Exporter-toolkit web config (tls_server_config, basic_auth_users); "
	  "SIGHUP reloads it" },
	{ "web.auth-threads", FLAG_INT,
	  LIMIT_STR(LIMIT_AUTH_THREADS), 1, 64, NULL,
	  OFF(auth_threads), 0,
	  "Threads that check passwords never verified before (bcrypt), "
	  "off the event loop" },
	{ "web.auth-queue-size", FLAG_INT,
	  LIMIT_STR(LIMIT_AUTH_QUEUE), 1, 100000, NULL, OFF(auth_queue_size), 0,
	  "Password checks that may wait for a thread; more are answered 503 "
	  "at once" },
	{ "web.auth-failure-limit", FLAG_INT,
	  LIMIT_STR(LIMIT_AUTH_FAILURES_PER_MIN), 0, 60000, NULL,
	  OFF(auth_failure_limit), 0,
	  "Failed password checks one source address (IPv6: /64) may make "
	  "per minute, in a burst or spread out; more are answered 429 "
	  "without a check (0: no limit). Verified passwords never count" },
	{ "client.auth", FLAG_ENUM, "none", 0, 0, clientauth_mode_names,
	  OFF(client_auth), 0,
	  "How clients prove the FQDN they poll for: none (anyone may claim "
	  "any FQDN), cert (a verified TLS client certificate naming it), "
	  "token (a bearer token allowed to claim it)" },
	{ "client.tokens-file", FLAG_STRING, "", 0, 0, NULL,
	  OFF(client_tokens_file), 0,
	  "With --client.auth=token: lines of \"SHA256-OF-TOKEN FQDN-PATTERN"
	  "...\"; SIGHUP reloads it" },
	{ "advertise.max-targets", FLAG_INT,
	  LIMIT_STR(LIMIT_MAX_TARGETS_PER_CLIENT), 0, 1000000, NULL,
	  OFF(advertise_max_targets), 0,
	  "Targets one client may advertise (POST /advertise); more are "
	  "refused with 400 and the client is listed without targets" },
	{ "advertise.max-label-bytes", FLAG_BYTES,
	  LIMIT_STR(LIMIT_MAX_LABEL_KIB_PER_CLIENT) "KiB", 0, 1LL << 30, NULL,
	  OFF(advertise_max_label_bytes), 0,
	  "Bytes of label names and values one client may advertise (its "
	  "labels and its targets' together); more are refused with 400" },
	{ "advertise.max-bytes", FLAG_BYTES,
	  LIMIT_STR(LIMIT_MAX_ADVERT_KIB) "KiB", 1024, 1LL << 30, NULL,
	  OFF(advertise_max_bytes), 0,
	  "Largest POST /advertise body; larger ones are refused with 413" },
	{ "web.shutdown-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_SHUTDOWN_TIMEOUT_S) "s", 0, DAY_MS, NULL,
	  OFF(shutdown_timeout_ms), 0,
	  "On SIGTERM: /-/ready answers 503, parked polls are answered, new "
	  "scrapes and polls get 503, and scrapes in flight may finish this "
	  "long before the proxy exits (a second signal exits at once)" },
	{ "metrics.per-client-limit", FLAG_INT,
	  LIMIT_STR(LIMIT_STATS_PER_CLIENT), 0, 10000000, NULL,
	  OFF(stats_per_client), 0,
	  "Per-client series on /metrics (scrapes by outcome, latency, bytes, "
	  "labelled fqdn) while at most this many clients are registered; "
	  "beyond it only the totals (0: never)" },
	{ "log.level", FLAG_ENUM, "info", 0, 0, log_level_names,
	  OFF(log_level), 0,
	  "Only log messages with the given severity or above" },
	{ "log.format", FLAG_ENUM, "logfmt", 0, 0, log_format_names,
	  OFF(log_format), 0, "Output format of log messages" },
};

#define PROXY_NFLAGS (sizeof(proxy_flags) / sizeof(proxy_flags[0]))

enum flags_result
proxy_config_parse(struct proxy_config *cfg, int argc, char **argv,
    FILE *out, FILE *err)
{
	static const struct flags_program prog = {
		"pushprox-proxy", PUSHPROX_VERSION,
		"Lets Prometheus scrape targets behind NAT through polling "
		"pushprox clients.",
	};
	enum flags_result r;

	r = flags_parse(proxy_flags, PROXY_NFLAGS, cfg, &prog, argc, argv, out,
	    err);
	if (r == FLAGS_OK &&
	    cfg->scrape_default_timeout_ms > cfg->scrape_max_timeout_ms) {
		fprintf(err, "pushprox-proxy: --scrape.default-timeout "
		    "must not exceed --scrape.max-timeout\n");
		return FLAGS_ERROR;
	}
	if (r == FLAGS_OK && cfg->client_auth == CLIENTAUTH_TOKEN &&
	    (cfg->client_tokens_file == NULL ||
	    *cfg->client_tokens_file == '\0')) {
		fprintf(err, "pushprox-proxy: --client.auth=token needs "
		    "--client.tokens-file\n");
		return FLAGS_ERROR;
	}
	if (r == FLAGS_OK && cfg->client_auth == CLIENTAUTH_CERT &&
	    (cfg->web_config_file == NULL || *cfg->web_config_file == '\0')) {
		fprintf(err, "pushprox-proxy: --client.auth=cert needs TLS "
		    "with client_ca_file in --web.config.file\n");
		return FLAGS_ERROR;
	}
	return r;
}

void
proxy_config_free(struct proxy_config *cfg)
{
	flags_free(proxy_flags, PROXY_NFLAGS, cfg);
}

const struct flag_def *
proxy_config_flags(size_t *n)
{
	*n = PROXY_NFLAGS;
	return proxy_flags;
}
