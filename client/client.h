/*
 * The client's context: everything that lives for the whole run hangs off
 * one struct client, passed as the argument of every callback (no mutable
 * globals).  It owns the curl driver, one poller per --proxy-url (each
 * with its own back-off and advertisement state), the scrape jobs in
 * flight (each remembers the poller it came from: its push goes back to
 * that proxy), the client's advertisement, the metrics registry and the
 * metrics listener.  Shutdown stops every poller, lets scrapes in flight
 * finish for --shutdown-timeout, answers the ones still fetching with a
 * 503, pushes that, then breaks the loop.
 */
#ifndef PUSHPROX_CLIENT_CLIENT_H
#define PUSHPROX_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "advert.h"

struct event;
struct event_base;
struct curlev;
struct poller;
struct job;
struct httpserver;
struct metrics;
struct metric;
struct clientstatus;
struct client_config;
struct targets;
struct targetsctl;
struct netpolicy;

struct client_metrics {
	struct metric	*scrapes;	/* pushprox_client_scrapes_total */
	struct metric	*scrape_errors;	/* ..._scrape_errors_total */
	struct metric	*push_errors;	/* ..._push_errors_total */
	struct metric	*poll_errors;	/* ..._poll_errors_total */
	struct metric	*polls;		/* ..._polls_total */
	struct metric	*in_flight;	/* ..._scrapes_in_flight */
	/* Per proxy, label "proxy" (its URL without credentials). */
	struct metric	*proxy_up;	/* pushprox_client_proxy_up */
	struct metric	*proxy_polls;	/* ..._proxy_polls_total */
	struct metric	*proxy_poll_errors; /* ..._proxy_poll_errors_total */
	struct metric	*proxy_scrapes;	/* ..._proxy_scrapes_total */
	struct metric	*proxy_push_errors; /* ..._proxy_push_errors_total */
	struct metric	*proxy_adverts;	/* ..._proxy_advertisements_total */
};

/* What the client advertises (docs/protocol.md 2.2), or nothing. */
struct client_advert {
	char	*json;		/* canonical JSON; NULL: nothing to advertise
				   (no --targets.file, no --label) */
	size_t	 len;
	char	 tag[ADVERT_MAX_TAG + 1];	/* Pushprox-Targets */
	size_t	 ntargets;
};

struct client {
	struct event_base		*base;
	const struct client_config	*cfg;		/* borrowed */
	struct curlev			*cev;
	struct poller			**pollers;	/* one per proxy */
	size_t				 npollers;
	char				*fqdn_header; /* "Pushprox-Fqdn: ..." */
	struct client_advert		 advert;
	struct httpserver		*http; /* NULL: no metrics-addr */
	struct metrics			*metrics;
	struct client_metrics		 m;
	struct clientstatus		*status;	/* the page at GET / */
	TAILQ_HEAD(, job)		 jobs;		/* owned by job.c */
	size_t				 njobs;		/* in the list */
	/* target transfers running */
	size_t				 ntargets;
	struct event			*grace;		/* shutdown deadline */
	bool				 draining; /* grace over: 503s pushed */
	bool				 stopping;
	/*
	 * --targets.file (issue 10): the current set, NULL without the flag.
	 * Owned by tctl (client/targetsctl.c: load, watch, SIGHUP); it may
	 * be replaced between two callbacks, so never keep a pointer into
	 * it across one.  client_targets_changed tells the poller.
	 */
	struct targets			*targets;
	struct targetsctl		*tctl;
	/*
	 * HTTP_PROXY/HTTPS_PROXY/NO_PROXY as the Go client reads them, with
	 * localhost and loopback never proxied (client/netpolicy.h).  Every
	 * easy handle the client creates calls netpolicy_apply(c->net, e,
	 * url) after CURLOPT_URL: poll, push, advertise and target transfers.
	 */
	struct netpolicy		*net;
};

/*
 * Builds the context on base with cfg (borrowed; must outlive it).
 * Returns NULL after logging why; caller frees with client_free.
 */
struct client *client_new(struct event_base *base,
    const struct client_config *cfg);

/* Opens the metrics listener and sends the first poll; 0 or -1. */
int client_start(struct client *c);

/*
 * Stops polling and breaks the loop once scrapes in flight are done or
 * the grace period is over; a second call breaks it at once.
 */
void client_shutdown(struct client *c);

/*
 * The targets set (c->targets) changed: a rescan of its directories or a
 * SIGHUP reload.  Called by client/targetsctl.c; the poller re-advertises
 * to the proxies that asked (docs/protocol.md 2.2).
 */
void client_targets_changed(struct client *c);

/* Called by job.c after a job left the list: wakes waiting pollers. */
void client_job_gone(struct client *c);

/* Polls parked or in flight now, over all proxies (for the status line). */
size_t client_polls_open(const struct client *c);

/* Proxies whose last poll succeeded. */
size_t client_proxies_up(const struct client *c);

/* Cancels everything still running and frees. NULL is a no-op. */
void client_free(struct client *c);

#endif
