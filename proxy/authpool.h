/*
 * A small pool of worker threads for work too slow for the event loop
 * (bcrypt: tens of milliseconds per password check).  Jobs wait in a
 * bounded queue; a full queue refuses new ones at once.  Each job's work
 * function runs on a worker thread and must touch nothing but its argument;
 * its done function runs later on the event loop thread.
 */
#ifndef PUSHPROX_AUTHPOOL_H
#define PUSHPROX_AUTHPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct authpool;
struct authpool_job;

/* Runs on a worker thread. */
typedef void (*authpool_work_cb)(void *arg);
/* Runs on the loop thread once the work is done (ran 1) or dropped (0). */
typedef void (*authpool_done_cb)(int ran, void *arg);

/*
 * Starts nthreads workers sharing a queue of at most queue_max waiting
 * jobs.  NULL (logged) on failure; caller frees with authpool_free.
 */
struct authpool *authpool_new(struct event_base *base, size_t nthreads,
    size_t queue_max);

/*
 * Waits for the running jobs, then calls done for every job not cancelled
 * (ran 0 for those still queued) and frees.  NULL is a no-op.
 */
void authpool_free(struct authpool *p);

/*
 * Queues work(arg), then done(ran, arg) on the loop thread.  Returns the
 * job (borrowed, valid until done runs or authpool_cancel drops it), or
 * NULL when the queue is full (or out of memory): nothing will be called.
 */
struct authpool_job *authpool_submit(struct authpool *p, authpool_work_cb work,
    authpool_done_cb done, void *arg);

/*
 * The job's requester is gone.  true: the job was still queued and is
 * dropped, done will not run; false: it is running or ran, and done still
 * runs (so arg must live until then).
 */
bool authpool_cancel(struct authpool *p, struct authpool_job *job);

/* Jobs waiting for a worker right now. */
size_t authpool_queued(struct authpool *p);

#endif
