/*
 * Client flags, declared in one table that drives parsing, validation and
 * --help (common/flags.c), followed by the checks a table cannot express:
 * the proxy URL must be absolute http(s), the TLS files must be readable
 * and parse (cert and key together, and matching: tlsfiles.c), the token
 * file must hold a token on its first line, every --scrape.allow pattern
 * must parse (allow.c), --scrape.target-host must be a bare host, and the
 * FQDN defaults to the canonical name of this host.  Everything here runs
 * once, before the event loop.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allow.h"
#include "buf.h"
#include "config.h"
#include "flags.h"
#include "pushprox_limits.h"
#include "log.h"
#include "scrapereq.h"
#include "tlsfiles.h"
#include "url.h"
#include "version.h"

#define MS_SECOND	1000LL
#define MS_HOUR		(3600LL * MS_SECOND)

#define OFF(f)		offsetof(struct client_config, f)

static const char *const config_push_compression_names[] = { "gzip", "none",
    NULL };

static const struct flag_def config_flags[] = {
	{ "proxy-url", FLAG_STRINGS, NULL, 0, 0, NULL, OFF(proxy_url),
	  FLAG_REQUIRED, "URL of a PushProx proxy (poll, push and advertise "
	  "are resolved against it); repeatable, up to "
	  LIMIT_STR(LIMIT_MAX_PROXIES) ": the client polls every proxy at "
	  "once, each with its own back-off, and pushes each scrape back to "
	  "the proxy it came from" },
	{ "fqdn", FLAG_STRING, NULL, 0, 0, NULL, OFF(fqdn), 0,
	  "name to register under (default: this host's FQDN)" },
	{ "metrics-addr", FLAG_STRING, ":9369", 0, 0, NULL, OFF(metrics_addr),
	  0, "address to serve the client's own /metrics and status page (/) "
	  "on (empty: off)" },
	{ "proxy.retry.initial-wait", FLAG_DURATION,
	  LIMIT_STR(LIMIT_RETRY_INITIAL_WAIT_S) "s", 10, MS_HOUR, NULL,
	  OFF(retry_initial_ms), 0, "first wait after a failed poll; also the "
	  "pause after an empty poll (204) that lasted under "
	  LIMIT_STR(LIMIT_POLL_MIN_EMPTY_MS) "ms" },
	{ "proxy.retry.max-wait", FLAG_DURATION,
	  LIMIT_STR(LIMIT_RETRY_MAX_WAIT_S) "s", 10, MS_HOUR, NULL,
	  OFF(retry_max_ms), 0, "longest wait between failed polls" },
	{ "proxy.poll-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_CLIENT_POLL_TIMEOUT_MIN) "m", MS_SECOND, 24 * MS_HOUR,
	  NULL, OFF(poll_timeout_ms), 0,
	  "give up on one long poll after this long and poll again" },
	{ "auth.token-file", FLAG_STRING, NULL, 0, 0, NULL,
	  OFF(auth_token_file), 0, "file whose first line is a bearer token, "
	  "sent as \"Authorization: Bearer TOKEN\" on /poll and /push only "
	  "(never to targets); for a proxy run with --client.auth=token" },
	{ "shutdown-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_CLIENT_SHUTDOWN_TIMEOUT_S) "s", 0, MS_HOUR, NULL,
	  OFF(shutdown_timeout_ms), 0, "on SIGTERM or SIGINT, stop polling "
	  "and let scrapes in flight finish and be pushed for at most this "
	  "long; then the ones still fetching are answered 503 and the client "
	  "exits" },
	{ "tls.cacert", FLAG_STRING, NULL, 0, 0, NULL, OFF(tls_cacert), 0,
	  "CA certificates (PEM) to verify the proxy with" },
	{ "tls.cert", FLAG_STRING, NULL, 0, 0, NULL, OFF(tls_cert), 0,
	  "client certificate (PEM) for the proxy; loaded at start, and must "
	  "match --tls.key" },
	{ "tls.key", FLAG_STRING, NULL, 0, 0, NULL, OFF(tls_key), 0,
	  "private key (PEM, unencrypted) of --tls.cert" },
	{ "scrape.default-timeout", FLAG_DURATION,
	  LIMIT_STR(LIMIT_SCRAPE_TIMEOUT_S) "s", 100, MS_HOUR, NULL,
	  OFF(scrape_default_timeout_ms), 0, "scrape timeout when the request "
	  "has no X-Prometheus-Scrape-Timeout-Seconds" },
	{ "scrape.max-size", FLAG_BYTES, LIMIT_STR(LIMIT_MAX_SCRAPE_BYTES),
	  1024, 4LL << 30, NULL,
	  OFF(scrape_max_bytes), 0, "largest target response body" },
	{ "scrape.max-concurrency", FLAG_INT,
	  LIMIT_STR(LIMIT_MAX_CONCURRENT_SCRAPES), 1, 100000, NULL,
	  OFF(scrape_max_concurrency), 0,
	  "scrapes in flight at once; more are answered 503" },
	{ "scrape.allow", FLAG_STRINGS, NULL, 0, 0, NULL, OFF(scrape_allow), 0,
	  "only scrape these targets on this host: PORT, PORT/PATH or */PATH "
	  "(e.g. 9100, 9100/metrics, */probe; PATH is the URL path exactly, "
	  "without the query); other scrapes are answered 403 (default: any "
	  "port and path)" },
	{ "scrape.target-host", FLAG_STRING, NULL, 0, 0, NULL,
	  OFF(scrape_target_host), 0, "connect to this host or address (e.g. "
	  "127.0.0.1) for scrapes of --fqdn, keeping port, path, query and the "
	  "Host header; https targets are still verified against the FQDN "
	  "(default: resolve the FQDN)" },
	{ "scrape.redirects", FLAG_ENUM, "same-origin", 0, 0,
	  scrapereq_redirects_names, OFF(scrape_redirects), 0, "which "
	  "redirects (301, 302, 303, 307, 308) of a target to follow: "
	  "same-origin (same scheme, host and port as the scrape; with "
	  "--scrape.allow, also allowed by it), none, or any (the reference "
	  "client's behaviour; not with --scrape.allow); a redirect not "
	  "followed fails the scrape with a 502 naming its Location" },
	{ "scrape.max-redirects", FLAG_INT, LIMIT_STR(LIMIT_MAX_REDIRECTS), 0,
	  100, NULL, OFF(scrape_max_redirects), 0, "redirects one scrape "
	  "follows at most; one more fails it with a 502" },
	{ "push.compression", FLAG_ENUM, "gzip", 0, 0,
	  config_push_compression_names, OFF(push_compression), 0,
	  "gzip: push a target's uncompressed body gzip-encoded "
	  "(Content-Encoding: gzip) when the scraper accepts gzip (Prometheus "
	  "does), so fewer bytes cross the link to the proxy; none: push "
	  "bodies as the target sent them" },
	{ "push.gzip-level", FLAG_INT, LIMIT_STR(LIMIT_PUSH_GZIP_LEVEL), 1, 9,
	  NULL, OFF(push_gzip_level), 0, "zlib compression level of a gzip "
	  "push: 1 is fastest, 9 smallest (see docs/performance.md)" },
	{ "targets.file", FLAG_STRING, NULL, 0, 0, NULL, OFF(targets_file), 0,
	  "YAML file of named targets (static, socket_dirs, include "
	  "directories; see pushprox-client(1) and docs/protocol.md); it is "
	  "then the allowlist: plain scrapes run only for a listed URL (or "
	  "--scrape.allow), SIGHUP reloads it (default: none, scrape any "
	  "URL of --fqdn)" },
	{ "targets.rescan-interval", FLAG_DURATION,
	  LIMIT_STR(LIMIT_TARGETS_RESCAN_S) "s", 1000, 24 * MS_HOUR, NULL,
	  OFF(targets_rescan_ms), 0, "re-read the socket and include "
	  "directories of --targets.file this often, besides inotify" },
	{ "label", FLAG_STRINGS, NULL, 0, 0, NULL, OFF(label), 0,
	  "NAME=VALUE label of this client, advertised to the proxy "
	  "(repeatable; the targets file's labels win a clash)" },
	{ "log.level", FLAG_ENUM, "info", 0, 0, log_level_names,
	  OFF(log_level), 0, "only log messages of this level or above" },
	{ "log.format", FLAG_ENUM, "logfmt", 0, 0, log_format_names,
	  OFF(log_format), 0, "log line format" },
};

#define CONFIG_NFLAGS	(sizeof(config_flags) / sizeof(config_flags[0]))

static const struct flags_program config_program = {
	"pushprox-client", PUSHPROX_VERSION,
	"polls a PushProx proxy for scrapes and performs them locally",
};

/* The canonical name of this host, or its plain hostname; caller frees. */
static char *
config_default_fqdn(void)
{
	char		 host[LIMIT_MAX_FQDN_BYTES + 2];
	struct addrinfo	 hints, *res = NULL;
	char		*out;

	if (gethostname(host, sizeof(host)) == -1)
		return strdup("localhost");
	host[sizeof(host) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL && res->ai_canonname[0] != '\0')
		out = strdup(res->ai_canonname);
	else
		out = strdup(host);
	if (res != NULL)
		freeaddrinfo(res);
	return out;
}

/* A readable file, or a message naming the flag, the file and errno. */
static int
config_check_file(const char *flag, const char *path, FILE *err)
{
	FILE		*f;
	struct stat	 st;
	int		 rv = 0;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(err, "pushprox-client: cannot read --%s file \"%s\": "
		    "%s\n", flag, path, strerror(errno));
		return -1;
	}
	/* fopen succeeds on a directory; curl would fail much later. */
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(err, "pushprox-client: cannot read --%s file \"%s\": "
		    "%s\n", flag, path, strerror(EISDIR));
		rv = -1;
	}
	fclose(f);
	return rv;
}

/* An empty string flag means "not given". */
static void
config_empty_to_null(char **s)
{
	if (*s != NULL && (*s)[0] == '\0') {
		free(*s);
		*s = NULL;
	}
}

/*
 * Reads the bearer token (the first line, white space trimmed) into
 * cfg->auth_header; 0, or -1 after a message naming the file.
 */
static int
config_read_token(struct client_config *cfg, FILE *err)
{
	const char	*path = cfg->auth_token_file;
	char		 line[LIMIT_TOKEN_BYTES + 2], *tok, *end;
	FILE		*f;
	struct buf	 b;
	bool		 too_long;
	int		 rv = -1;

	if (config_check_file("auth.token-file", path, err) == -1)
		return -1;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(err, "pushprox-client: cannot read --auth.token-file "
		    "file \"%s\": %s\n", path, strerror(errno));
		return -1;
	}
	line[0] = '\0';
	if (fgets(line, sizeof(line), f) == NULL && ferror(f)) {
		fprintf(err, "pushprox-client: cannot read --auth.token-file "
		    "file \"%s\": %s\n", path, strerror(errno));
		fclose(f);
		return -1;
	}
	too_long = strchr(line, '\n') == NULL && !feof(f);
	fclose(f);
	tok = line + strspn(line, " \t\r\n\v\f");
	for (end = tok + strlen(tok); end > tok &&
	    isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	if (too_long)
		fprintf(err, "pushprox-client: --auth.token-file file \"%s\": "
		    "first line longer than %d bytes\n", path,
		    LIMIT_TOKEN_BYTES);
	else if (*tok == '\0')
		fprintf(err, "pushprox-client: --auth.token-file file \"%s\" "
		    "holds no token (its first line is empty)\n", path);
	else {
		for (end = tok; *end != '\0' && !iscntrl((unsigned char)*end);
		    end++)
			;
		if (*end != '\0')
			fprintf(err, "pushprox-client: --auth.token-file file "
			    "\"%s\": the token contains control characters\n",
			    path);
		else
			rv = 0;
	}
	if (rv == 0) {
		buf_init(&b, LIMIT_TOKEN_BYTES + 64);
		if (buf_printf(&b, "Authorization: Bearer %s", tok) == -1) {
			buf_release(&b);
			fprintf(err, "pushprox-client: out of memory\n");
			rv = -1;
		} else
			cfg->auth_header = b.data;
	}
	explicit_bzero(line, sizeof(line));
	return rv;
}

/*
 * Checks --scrape.target-host (a host name or an IPv4 or IPv6 address,
 * brackets optional, no port) and stores it without brackets; 0 or -1
 * after a message.
 */
static int
config_check_target_host(struct client_config *cfg, FILE *err)
{
	char		*h = cfg->scrape_target_host;
	size_t		 len = strlen(h);
	struct in6_addr	 a6;
	const char	*why = NULL;

	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		memmove(h, h + 1, len - 2);
		h[len - 2] = '\0';
		len -= 2;
	}
	if (len == 0)
		why = "empty host";
	else if (len > LIMIT_MAX_FQDN_BYTES)
		why = "longer than " LIMIT_STR(LIMIT_MAX_FQDN_BYTES) " bytes";
	else if (strchr(h, ':') != NULL) {
		if (inet_pton(AF_INET6, h, &a6) != 1)
			why = "a host name or address without a port was "
			    "expected";
	} else if (strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != len)
		why = "a host name or address without a port was expected";
	if (why != NULL) {
		fprintf(err, "pushprox-client: invalid value \"%s\" for "
		    "--scrape.target-host: %s\n", cfg->scrape_target_host, why);
		return -1;
	}
	return 0;
}

/* Builds the --scrape.allow list; 0, or -1 naming the bad pattern. */
static int
config_build_allow(struct client_config *cfg, FILE *err)
{
	const char	*why = NULL;
	size_t		 i;

	if ((cfg->allow = allow_new()) == NULL) {
		fprintf(err, "pushprox-client: out of memory\n");
		return -1;
	}
	for (i = 0; i < cfg->scrape_allow.n; i++)
		if (allow_add(cfg->allow, cfg->scrape_allow.v[i], &why) == -1) {
			fprintf(err, "pushprox-client: invalid value \"%s\" "
			    "for --scrape.allow: %s\n", cfg->scrape_allow.v[i],
			    why);
			return -1;
		}
	return 0;
}

/* "fqdn::host:" for CURLOPT_CONNECT_TO (any port, same port); or -1. */
static int
config_build_connect_to(struct client_config *cfg)
{
	const char	*f = cfg->fqdn, *h = cfg->scrape_target_host;
	bool		 f6 = strchr(f, ':') != NULL,
	    h6 = strchr(h, ':') != NULL;
	struct buf	 b;

	buf_init(&b, 2 * LIMIT_MAX_FQDN_BYTES + 16);
	if (buf_printf(&b, "%s%s%s::%s%s%s:", f6 ? "[" : "", f, f6 ? "]" : "",
	    h6 ? "[" : "", h, h6 ? "]" : "") == -1 ||
	    (cfg->connect_to = curl_slist_append(NULL, b.data)) == NULL) {
		buf_release(&b);
		return -1;
	}
	buf_release(&b);
	return 0;
}

/* Frees cfg->proxies. */
static void
config_free_proxies(struct client_config *cfg)
{
	struct config_proxy	*px;
	size_t			 i;

	for (i = 0; cfg->proxies != NULL && i < cfg->nproxies; i++) {
		px = &cfg->proxies[i];
		free(px->poll_url);
		free(px->push_url);
		free(px->advertise_url);
		free(px->url_log);
		free(px->poll_url_log);
		free(px->push_url_log);
		free(px->advertise_url_log);
	}
	free(cfg->proxies);
	cfg->proxies = NULL;
	cfg->nproxies = 0;
}

/* Resolves /poll, /push and /advertise against every --proxy-url; or -1. */
static int
config_build_proxies(struct client_config *cfg)
{
	struct config_proxy	*px;
	size_t			 i;

	if ((cfg->proxies = calloc(cfg->proxy_url.n, sizeof(*px))) == NULL)
		return -1;
	cfg->nproxies = cfg->proxy_url.n;
	for (i = 0; i < cfg->nproxies; i++) {
		px = &cfg->proxies[i];
		px->url = cfg->proxy_url.v[i];
		px->poll_url = url_resolve_name(px->url, "poll");
		px->push_url = url_resolve_name(px->url, "push");
		px->advertise_url = url_resolve_name(px->url, "advertise");
		if (px->poll_url == NULL || px->push_url == NULL ||
		    px->advertise_url == NULL)
			return -1;
		px->url_log = url_strip_userinfo(px->url);
		px->poll_url_log = url_strip_userinfo(px->poll_url);
		px->push_url_log = url_strip_userinfo(px->push_url);
		px->advertise_url_log = url_strip_userinfo(px->advertise_url);
		if (px->url_log == NULL || px->poll_url_log == NULL ||
		    px->push_url_log == NULL || px->advertise_url_log == NULL)
			return -1;
	}
	return 0;
}

/* The checks beyond the table; 0, or -1 after a message to err. */
static int
config_check(struct client_config *cfg, FILE *err)
{
	struct url	 u;
	const char	*why = NULL;
	char		*plain, msg[LIMIT_ERROR_BODY_BYTES];
	size_t		 i;

	if (cfg->proxy_url.n > LIMIT_MAX_PROXIES) {
		fprintf(err, "pushprox-client: --proxy-url given %zu times, "
		    "more than the %d allowed\n", cfg->proxy_url.n,
		    LIMIT_MAX_PROXIES);
		return -1;
	}
	for (i = 0; i < cfg->proxy_url.n; i++) {
		/* Credentials are curl's business, not url_parse's. */
		if ((plain = url_strip_userinfo(cfg->proxy_url.v[i])) == NULL) {
			fprintf(err, "pushprox-client: out of memory\n");
			return -1;
		}
		if (url_parse(plain, &u, &why) == -1) {
			free(plain);
			fprintf(err, "pushprox-client: invalid value \"%s\" "
			    "for --proxy-url: %s\n", cfg->proxy_url.v[i],
			    why != NULL ? why : "not an absolute http(s) URL");
			return -1;
		}
		free(plain);
		url_release(&u);
		for (size_t k = 0; k < i; k++)
			if (strcmp(cfg->proxy_url.v[k], cfg->proxy_url.v[i]) ==
			    0) {
				fprintf(err, "pushprox-client: --proxy-url "
				    "\"%s\" given twice\n",
				    cfg->proxy_url.v[i]);
				return -1;
			}
	}
	config_empty_to_null(&cfg->tls_cacert);
	config_empty_to_null(&cfg->tls_cert);
	config_empty_to_null(&cfg->tls_key);
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		fprintf(err, "pushprox-client: --tls.cert and --tls.key must "
		    "be given together (got only --%s)\n",
		    cfg->tls_cert != NULL ? "tls.cert" : "tls.key");
		return -1;
	}
	if (config_check_file("tls.cacert", cfg->tls_cacert, err) == -1 ||
	    config_check_file("tls.cert", cfg->tls_cert, err) == -1 ||
	    config_check_file("tls.key", cfg->tls_key, err) == -1)
		return -1;
	if (tlsfiles_check(cfg->tls_cacert, cfg->tls_cert, cfg->tls_key, msg,
	    sizeof(msg)) == -1) {
		fprintf(err, "pushprox-client: %s\n", msg);
		return -1;
	}
	config_empty_to_null(&cfg->auth_token_file);
	if (cfg->auth_token_file != NULL && config_read_token(cfg, err) == -1)
		return -1;
	config_empty_to_null(&cfg->scrape_target_host);
	if (cfg->scrape_target_host != NULL &&
	    config_check_target_host(cfg, err) == -1)
		return -1;
	if (config_build_allow(cfg, err) == -1)
		return -1;
	config_empty_to_null(&cfg->targets_file);
	for (i = 0; i < cfg->label.n; i++)
		if (labels_parse_flag(&cfg->labels, cfg->label.v[i], msg,
		    sizeof(msg)) == -1) {
			fprintf(err, "pushprox-client: %s\n", msg);
			return -1;
		}
	if (cfg->scrape_redirects == SCRAPEREQ_REDIRECTS_ANY &&
	    allow_count(cfg->allow) > 0) {
		/* The allowlist is for this host; "any" would leave it. */
		fprintf(err, "pushprox-client: --scrape.redirects=any cannot "
		    "be combined with --scrape.allow (use same-origin: each "
		    "redirect is then checked against the allowlist)\n");
		return -1;
	}
	if (cfg->retry_initial_ms > cfg->retry_max_ms) {
		fprintf(err, "pushprox-client: --proxy.retry.initial-wait "
		    "must not exceed --proxy.retry.max-wait\n");
		return -1;
	}
	if (cfg->fqdn != NULL && strlen(cfg->fqdn) > LIMIT_MAX_FQDN_BYTES) {
		fprintf(err, "pushprox-client: invalid value \"%s\" for "
		    "--fqdn: longer than %d bytes\n", cfg->fqdn,
		    LIMIT_MAX_FQDN_BYTES);
		return -1;
	}
	return 0;
}

enum config_result
config_load(struct client_config *cfg, int argc, char **argv, FILE *out,
    FILE *err)
{
	memset(cfg, 0, sizeof(*cfg));
	switch (flags_parse(config_flags, CONFIG_NFLAGS, cfg, &config_program,
	    argc, argv, out, err)) {
	case FLAGS_OK:
		break;
	case FLAGS_EXIT:
		flags_free(config_flags, CONFIG_NFLAGS, cfg);
		return CONFIG_EXIT_OK;
	case FLAGS_ERROR:
	default:
		flags_free(config_flags, CONFIG_NFLAGS, cfg);
		return CONFIG_EXIT_ERR;
	}
	if (config_check(cfg, err) == -1)
		goto fail;
	config_empty_to_null(&cfg->fqdn);
	if (cfg->fqdn == NULL && (cfg->fqdn = config_default_fqdn()) == NULL)
		goto oom;
	if (config_build_proxies(cfg) == -1)
		goto oom;
	if (cfg->scrape_target_host != NULL &&
	    config_build_connect_to(cfg) == -1)
		goto oom;
	return CONFIG_RUN;
oom:
	fprintf(err, "pushprox-client: out of memory\n");
fail:
	config_free(cfg);
	return CONFIG_EXIT_ERR;
}

void
config_free(struct client_config *cfg)
{
	if (cfg == NULL)
		return;
	config_free_proxies(cfg);
	allow_free(cfg->allow);
	cfg->allow = NULL;
	if (cfg->auth_header != NULL) {
		explicit_bzero(cfg->auth_header, strlen(cfg->auth_header));
		free(cfg->auth_header);
		cfg->auth_header = NULL;
	}
	curl_slist_free_all(cfg->connect_to);
	cfg->connect_to = NULL;
	labels_release(&cfg->labels);
	flags_free(config_flags, CONFIG_NFLAGS, cfg);
}

int
config_apply_tls(const struct client_config *cfg, CURL *easy)
{
	if (cfg->tls_cacert != NULL &&
	    curl_easy_setopt(easy, CURLOPT_CAINFO, cfg->tls_cacert) != CURLE_OK)
		return -1;
	if (cfg->tls_cert != NULL &&
	    (curl_easy_setopt(easy, CURLOPT_SSLCERT, cfg->tls_cert) !=
	    CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_SSLKEY, cfg->tls_key) != CURLE_OK))
		return -1;
	return 0;
}

int
config_append_auth(const struct client_config *cfg, struct curl_slist **hdrs)
{
	struct curl_slist	*l;

	if (cfg->auth_header == NULL)
		return 0;
	if ((l = curl_slist_append(*hdrs, cfg->auth_header)) == NULL)
		return -1;
	*hdrs = l;
	return 0;
}

const char *
config_auth_refusal(const struct client_config *cfg, long status)
{
	if (status == 401 && cfg->auth_header != NULL)
		return "the proxy rejected our bearer token (is the SHA-256 of "
		    "--auth.token-file's token in the proxy's "
		    "--client.tokens-file?)";
	if (status == 401)
		return "the proxy requires a bearer token (--auth.token-file)";
	return "the proxy refused our credentials for this request (may "
	    "they claim --fqdn? see --auth.token-file, --tls.cert)";
}

const struct flag_def *
config_flags_table(size_t *n)
{
	*n = CONFIG_NFLAGS;
	return config_flags;
}
