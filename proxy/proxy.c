/*
 * Construction and teardown of the proxy context, the periodic sweep
 * that forgets clients whose registration expired, and the graceful drain
 * on SIGTERM: draining (router.c refuses new work) -> quiet (no scrape in
 * flight: listener closed, replies flushing) -> the loop exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "authlimit.h"
#include "authpool.h"
#include "basicauth.h"
#include "clientauth.h"
#include "config.h"
#include "duration.h"
#include "httpserver.h"
#include "log.h"
#include "poll.h"
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

	stats_prune(px->stats, proxy_now_ms(px));
	if ((n = registry_expire(px->registry, proxy_now_ms(px))) > 0) {
		snprintf(count, sizeof(count), "%zu", n);
		log_info("clients expired", "count", count);
	}
}

/*
 * Answers every parked poll 204.  The registry has no walk over waiters,
 * so each live client is asked for its polls the way a scrape would be:
 * a probe that takes the oldest poll, or is queued and taken back at once.
 */
static size_t
proxy_release_polls(struct proxy *px)
{
	struct registry_waiter probe, *match;
	enum registry_result r;
	const char **fqdns;
	size_t i, n, released = 0;
	int64_t now = proxy_now_ms(px);

	if (registry_polls_waiting(px->registry) == 0 ||
	    (fqdns = registry_live(px->registry, now, &n)) == NULL)
		return 0;
	/* Each round takes one poll away: bounded by the polls parked. */
	for (i = 0; i < n && registry_polls_waiting(px->registry) > 0; i++) {
		do {
			memset(&probe, 0, sizeof(probe));
			match = NULL;
			r = registry_add_scrape(px->registry, fqdns[i], now,
			    &probe, &match);
			if (r == REGISTRY_QUEUED)
				registry_remove(px->registry, &probe);
			else if (r == REGISTRY_MATCHED) {
				poll_release(match->owner);
				released++;
			}
		} while (r == REGISTRY_MATCHED);
	}
	free(fqdns);
	return released;
}

static void
proxy_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *px = arg;
	int64_t now = proxy_now_ms(px);
	char n[32];

	(void)proxy_release_polls(px);
	if (px->scrapes_active > 0 && now < px->drain_deadline_ms)
		return;
	if (px->scrapes_active > 0) {
		snprintf(n, sizeof(n), "%zu", px->scrapes_active);
		log_warn("shutdown timeout reached; cutting scrapes in flight",
		    "scrapes", n, "flag", "--web.shutdown-timeout");
		event_base_loopexit(px->base, NULL);
		return;
	}
	if (px->drain_quiet_ms == 0) {
		px->drain_quiet_ms = now;
		httpserver_stop_listening(px->server);
		log_info("drained: no scrape in flight; listener closed");
	}
	if (now - px->drain_quiet_ms >= LIMIT_DRAIN_FLUSH_MS ||
	    now >= px->drain_deadline_ms + LIMIT_DRAIN_FLUSH_MS)
		event_base_loopexit(px->base, NULL);
}

int
proxy_drain(struct proxy *px)
{
	struct timeval tv;
	char n[32], d[32];
	size_t released;

	if (px->draining)
		return 0;
	px->draining = 1;
	px->drain_deadline_ms = proxy_now_ms(px) +
	    px->cfg->shutdown_timeout_ms;
	if ((px->drain_ev = event_new(px->base, -1, EV_PERSIST,
	    proxy_drain_cb, px)) == NULL) {
		log_error("cannot drain; exiting now", "what", "the drain "
		    "timer", "error", "out of memory");
		event_base_loopexit(px->base, NULL);
		return -1;
	}
	released = proxy_release_polls(px);
	snprintf(n, sizeof(n), "%zu", px->scrapes_active);
	duration_format(px->cfg->shutdown_timeout_ms, d, sizeof(d));
	log_info("draining", "scrapes_in_flight", n, "shutdown_timeout", d);
	snprintf(n, sizeof(n), "%zu", released);
	log_debug("parked polls answered", "count", n);
	duration_to_timeval(LIMIT_DRAIN_TICK_MS, &tv);
	event_add(px->drain_ev, &tv);
	proxy_drain_cb(-1, 0, px);
	return 0;
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
	px->started_ms = proxy_now_ms(px);
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
	if (px->drain_ev != NULL)
		event_free(px->drain_ev);
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
