/*
 * The long poll: one POST <proxy>/poll outstanding at a time.  An answer
 * carrying a scrape starts a job (job.c) and the next poll goes out at
 * once; "no work" (204) and our own poll deadline re-poll at once, unless
 * that poll lasted under a second (a proxy answering 204 at once), when
 * the next one waits --proxy.retry.initial-wait; any failure waits a
 * jittered exponential back-off first.
 */
#ifndef PUSHPROX_CLIENT_POLLER_H
#define PUSHPROX_CLIENT_POLLER_H

#include <stdint.h>

struct client;
struct poller;

/* Returns an idle poller for c (borrowed); caller frees with poller_free. */
struct poller *poller_new(struct client *c);

/* Sends the first poll. */
void poller_start(struct poller *p);

/* A job ended: polls again if polling waited for that. */
void poller_job_done(struct poller *p);

/* Cancels the poll in flight or the back-off; no more polls. */
void poller_stop(struct poller *p);

/* Stops and frees. NULL is a no-op. */
void poller_free(struct poller *p);

/*
 * The back-off after a failed poll, given the previous one (0 for the
 * first failure): initial, then x1.5 up to max; jitter is applied apart.
 */
int64_t poller_next_backoff(int64_t prev_ms, int64_t initial_ms,
    int64_t max_ms);

#endif
