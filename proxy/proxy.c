/*
 * Construction and teardown of the proxy context, and the periodic sweep
 * that forgets clients whose registration expired.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "authlimit.h"
#include "authpool.h"
#include "basicauth.h"
#include "clientauth.h"
#include "config.h"
#include "duration.h"
#include "httpserver.h"
#include "log.h"
#include "proxy.h"
#include "pushprox_limits.h"
#include "registry.h"
#include "router.h"
#include "stats.h"
#include "strmap.h"
#include "tls.h"
#include "webconfig.h"
#include "xmalloc.h"

int64_t
proxy_now_ms(const struct proxy *px)
{
	struct timeval tv;

	event_base_gettimeofday_cached(px->base, &tv);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
proxy_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *px = arg;
	size_t n;
	char count[32];

	if ((n = registry_expire(px->registry, proxy_now_ms(px))) > 0) {
		snprintf(count, sizeof(count), "%zu", n);
		log_info("clients expired", "count", count);
	}
}

struct proxy *
proxy_new(struct event_base *base, const struct proxy_config *cfg)
{
	struct proxy *px;
	struct httpserver_config hc = {
		.max_connections = (size_t)cfg->max_connections,
		.max_header_bytes = (size_t)cfg->max_header_bytes,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.read_timeout_ms = cfg->read_timeout_ms,
		.read_header_timeout_ms = cfg->read_header_timeout_ms,
		.write_timeout_ms = cfg->write_timeout_ms,
	};
	struct timeval tv;
	const char *what = NULL;

	px = xcalloc(1, sizeof(*px), "the proxy context");
	px->base = base;
	px->cfg = cfg;
	/* Start-up: each failure stops the daemon, naming what failed. */
	if ((px->registry = registry_new(cfg->registration_timeout_ms,
	    (size_t)cfg->max_polls_per_client)) == NULL)
		what = "the client registry";
	else if ((px->scrapes = strmap_new()) == NULL)
		what = "the scrape id map";
	else if ((px->stats = stats_new(px)) == NULL)
		what = "the metrics";
	else if ((px->basicauth = basicauth_new()) == NULL ||
	    (px->clientauth = clientauth_new((enum clientauth_mode)
	    cfg->client_auth)) == NULL)
		what = "the authentication policy";
	else if ((px->authpool = authpool_new(base, (size_t)cfg->auth_threads,
	    (size_t)cfg->auth_queue_size)) == NULL)
		what = "the password check threads (--web.auth-threads)";
	else if ((px->authlimit = authlimit_new(cfg->auth_failure_limit,
	    LIMIT_AUTH_SOURCES)) == NULL)
		what = "the password failure limit";
	else if ((px->server = httpserver_new(base, &hc, router_request_cb,
	    px)) == NULL)
		what = "the HTTP server";
	else if ((px->sweep_ev = event_new(base, -1, EV_PERSIST,
	    proxy_sweep_cb, px)) == NULL)
		what = "the registration sweep timer";
	if (what != NULL) {
		log_error("cannot start", "what", what, "error",
		    "out of memory or resources");
		proxy_free(px);
		return NULL;
	}
	httpserver_set_reply_cb(px->server, stats_reply_cb);
	duration_to_timeval(LIMIT_SWEEP_MS, &tv);
	event_add(px->sweep_ev, &tv);
	return px;
}

int
proxy_reload(struct proxy *px)
{
	const struct proxy_config *cfg = px->cfg;
	struct webconfig *wc = NULL;
	SSL_CTX *ctx = NULL;
	char err[1024];

	if (cfg->web_config_file != NULL && *cfg->web_config_file != '\0') {
		if ((wc = webconfig_load(cfg->web_config_file, err,
		    sizeof(err))) == NULL)
			goto fail;
		if (wc->tls && (ctx = tls_server_ctx_new(wc, err,
		    sizeof(err))) == NULL)
			goto fail;
		if (cfg->client_auth == CLIENTAUTH_CERT && (!wc->tls ||
		    wc->client_ca_file == NULL)) {
			snprintf(err, sizeof(err), "%s: --client.auth=cert "
			    "needs tls_server_config with client_ca_file",
			    cfg->web_config_file);
			goto fail;
		}
	}
	/* The one step that can fail goes first: then nothing has changed. */
	if (clientauth_load(px->clientauth, cfg->client_tokens_file, err,
	    sizeof(err)) == -1)
		goto fail;
	basicauth_load(px->basicauth, wc);
	httpserver_set_tls(px->server, ctx);
	log_info("configuration loaded", "web_config",
	    wc != NULL ? cfg->web_config_file : "", "tls",
	    ctx != NULL ? "on" : "off", "client_auth_type", wc != NULL &&
	    wc->tls ? webconfig_client_auth_name(wc->client_auth) : "",
	    "basic_auth", basicauth_has_users(px->basicauth) ? "on" : "off",
	    "client_auth", clientauth_mode_names[cfg->client_auth]);
	SSL_CTX_free(ctx);
	webconfig_free(wc);
	return 0;
fail:
	log_error("cannot load configuration; keeping the previous one",
	    "error", err);
	SSL_CTX_free(ctx);
	webconfig_free(wc);
	return -1;
}

int
proxy_listen(struct proxy *px)
{
	return httpserver_listen(px->server, px->cfg->listen_address);
}

void
proxy_free(struct proxy *px)
{
	if (px == NULL)
		return;
	/* Connections first: their teardown still uses the registry. */
	httpserver_free(px->server);
	px->server = NULL;
	if (px->sweep_ev != NULL)
		event_free(px->sweep_ev);
	registry_free(px->registry);
	strmap_free(px->scrapes);
	stats_free(px->stats);
	/*
	 * After the server (its aborts cancel checks), before auth: the
	 * pool's last done callbacks still use auth and authlimit.
	 */
	authpool_free(px->authpool);
	authlimit_free(px->authlimit);
	basicauth_free(px->basicauth);
	clientauth_free(px->clientauth);
	free(px);
}
