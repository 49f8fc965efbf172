/*
 * The long poll of one proxy: one POST <proxy>/poll outstanding at a
 * time.  The client runs one poller per --proxy-url, each with its own
 * back-off and advertisement state (advertise.h), so a proxy that is
 * down costs the others nothing.  An answer carrying a scrape starts a
 * job (job.c) that remembers this poller, so its push goes back to this
 * proxy, and the next poll goes out at once; "no work" (204) and our own
 * poll deadline re-poll at once, unless that poll lasted under a second
 * (a proxy answering 204 at once), when the next one waits
 * --proxy.retry.initial-wait; any failure waits a jittered exponential
 * back-off first.  A 204 with "Pushprox-Advertise: required" sends the
 * advertisement, then polls again at once.
 */
#ifndef PUSHPROX_CLIENT_POLLER_H
#define PUSHPROX_CLIENT_POLLER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct client;
struct config_proxy;
struct poller;

/*
 * Returns an idle poller of the proxy px for c (both borrowed); caller
 * frees with poller_free.  NULL on ENOMEM.
 */
struct poller *poller_new(struct client *c, const struct config_proxy *px);

/* Sends the first poll. */
void poller_start(struct poller *p);

/* A job ended: polls again if polling waited for that. */
void poller_job_done(struct poller *p);

/*
 * The client's advertisement changed: sends it at once if this proxy
 * asked for it before (docs/protocol.md 2.2).
 */
void poller_advert_changed(struct poller *p);

/* Cancels the poll in flight, the advertisement or the back-off. */
void poller_stop(struct poller *p);

/* Stops and frees. NULL is a no-op. */
void poller_free(struct poller *p);

/* The proxy this poller polls (borrowed from the config). */
const struct config_proxy *poller_proxy(const struct poller *p);

/* Whether its last poll succeeded (the pushprox_client_proxy_up gauge). */
bool poller_up(const struct poller *p);

/* Whether a poll is in flight (parked at the proxy) now. */
bool poller_polling(const struct poller *p);

/* Its state's name (polling, backoff, ...), for the status page. */
const char *poller_state_name(const struct poller *p);

/* What it knows of the proxy's advertisement support (advertise.h). */
const char *poller_advert_state_name(const struct poller *p);

/* Why its last failed poll failed and when (*at), or NULL: none yet. */
const char *poller_last_error(const struct poller *p, time_t *at);

/*
 * The back-off after a failed poll, given the previous one (0 for the
 * first failure): initial, then x1.5 up to max; jitter is applied apart.
 */
int64_t poller_next_backoff(int64_t prev_ms, int64_t initial_ms,
    int64_t max_ms);

#endif
