/*
 * Construction and teardown of the proxy context, and the periodic sweep
 * that forgets clients whose registration expired.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "auth.h"
#include "authlimit.h"
#include "authpool.h"
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

	if ((px = calloc(1, sizeof(*px))) == NULL)
		return NULL;
	px->base = base;
	px->cfg = cfg;
	px->registry = registry_new(cfg->registration_timeout_ms,
	    (size_t)cfg->max_polls_per_client);
	px->scrapes = strmap_new();
	px->stats = stats_new(px);
	px->auth = auth_new((enum auth_client_mode)cfg->client_auth);
	px->authpool = authpool_new(base, (size_t)cfg->auth_threads,
	    (size_t)cfg->auth_queue_size);
	px->authlimit = authlimit_new(cfg->auth_failure_limit,
	    LIMIT_AUTH_SOURCES);
	px->server = httpserver_new(base, &hc, router_request_cb, px);
	px->sweep_ev = event_new(base, -1, EV_PERSIST, proxy_sweep_cb, px);
	if (px->registry == NULL || px->scrapes == NULL || px->stats == NULL ||
	    px->server == NULL || px->sweep_ev == NULL || px->auth == NULL ||
	    px->authpool == NULL || px->authlimit == NULL) {
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
		if (cfg->client_auth == AUTH_CLIENT_CERT && (!wc->tls ||
		    wc->client_ca_file == NULL)) {
			snprintf(err, sizeof(err), "%s: --client.auth=cert "
			    "needs tls_server_config with client_ca_file",
			    cfg->web_config_file);
			goto fail;
		}
	}
	if (auth_load(px->auth, wc, cfg->client_tokens_file, err,
	    sizeof(err)) == -1)
		goto fail;
	httpserver_set_tls(px->server, ctx);
	log_info("configuration loaded", "web_config",
	    wc != NULL ? cfg->web_config_file : "", "tls",
	    ctx != NULL ? "on" : "off", "client_auth_type", wc != NULL &&
	    wc->tls ? webconfig_client_auth_name(wc->client_auth) : "",
	    "basic_auth", auth_has_users(px->auth) ? "on" : "off",
	    "client_auth", auth_client_mode_names[cfg->client_auth]);
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
	auth_free(px->auth);
	free(px);
}
