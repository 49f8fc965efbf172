/*
 * The proxy's context: everything a request handler needs, passed as the
 * callback argument (no globals).  proxy.c builds and tears it down.
 */
#ifndef PUSHPROX_PROXY_H
#define PUSHPROX_PROXY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct basicauth;
struct clientauth;
struct authlimit;
struct authpool;
struct event;
struct httpserver;
struct proxy_config;
struct registry;
struct stats;
struct strmap;

struct proxy {
	struct event_base		*base;
	const struct proxy_config	*cfg;
	struct httpserver		*server;
	struct registry			*registry;
	/* id -> scrape awaiting push */
	struct strmap			*scrapes;
	struct stats			*stats;
	struct basicauth		*basicauth;	/* scrapers, readers */
	struct clientauth		*clientauth;	/* /poll, /push */
	struct authpool			*authpool;	/* bcrypt threads */
	struct authlimit		*authlimit; /* failures per source */
	struct event			*sweep_ev;
	size_t				 client_capacity; /* idle clients
							    the descriptor limit
							    allows */
	size_t				 scrapes_active;
	int64_t				 started_ms;
	/* Drain (SIGTERM): proxy_drain; new scrapes and polls get 503. */
	int				 draining;
	int64_t				 drain_deadline_ms;
	int64_t				 drain_quiet_ms; /* since: no scrape
							    left (0: some) */
	struct event			*drain_ev;
};

/*
 * Builds the context; caller frees with proxy_free.  NULL on failure,
 * logged naming what failed.
 */
struct proxy *proxy_new(struct event_base *base,
    const struct proxy_config *cfg);

/*
 * (Re)loads --web.config.file and --client.tokens-file.  On any error the
 * old settings stay and -1 is returned, after logging file, key and why.
 */
int proxy_reload(struct proxy *px);

/* Listens on --web.listen-address; -1 (logged) on failure. */
int proxy_listen(struct proxy *px);

/*
 * Starts the graceful drain: /-/ready answers 503, parked polls are
 * answered 204 (and any parked later), and once no scrape is in flight
 * (or --web.shutdown-timeout has passed) the listener closes, queued
 * replies get LIMIT_DRAIN_FLUSH_MS to leave, and the event loop exits.
 * -1 (logged) if the drain's timer cannot be made: the loop exits now.
 */
int proxy_drain(struct proxy *px);

/* Closes every connection and frees the context. NULL is a no-op. */
void proxy_free(struct proxy *px);

/* The event loop's cached clock, in milliseconds. */
int64_t proxy_now_ms(const struct proxy *px);

#endif
