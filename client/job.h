/*
 * One scrape job, from the proxy's request to our push of the result.  A
 * job fetches the target (fetch.c), relays its answer, or an error, as an
 * HTTP response pushed to <proxy>/push (upload.c), and couples the two
 * transfers through a bounded window when the body is too large to hold
 * (window.c; chunk.c frames it).  Its state changes only through
 * job_set_state and it ends only through job_close.  Jobs live in the
 * client's list so that shutdown can cancel them.
 *
 *   NEW -> FETCHING -> RECEIVING -> PUSHING -> DONE       (held whole)
 *   FETCHING -> REDIRECTING -> FETCHING                    (a hop followed)
 *   RECEIVING -> OPENING -> STREAMING <-> WINDOW_FULL / WINDOW_EMPTY /
 *       STALLED -> DRAINING (target done) or CUT (target failed) -> DONE
 *   any -> PUSHING (an error answered) -> DONE
 */
#ifndef PUSHPROX_CLIENT_JOB_H
#define PUSHPROX_CLIENT_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "chunk.h"
#include "gzbody.h"
#include "pushprox_limits.h"
#include "targets.h"

struct client;
struct event;
struct poller;
struct scrapereq;

enum job_state {
	JOB_NEW,
	JOB_FETCHING,		/* target transfer, before its body */
	JOB_RECEIVING,		/* its body, held whole */
	JOB_REDIRECTING,	/* ended at a redirect's head: fetch_follow */
	JOB_OPENING,		/* body over the window: the push is to start */
	JOB_STREAMING,		/* target and push running, window between */
	JOB_WINDOW_FULL, /* streaming, target paused: the push is behind */
	JOB_WINDOW_EMPTY, /* streaming, push paused: the target is behind */
	JOB_STALLED,		/* both paused: the kick resumes the target */
	JOB_DRAINING,		/* target done: the push sends what is left */
	JOB_CUT, /* target failed: the push is aborted (truncated) */
	JOB_PUSHING,		/* a whole response, or an error, pushed */
	JOB_DONE,
};

/* What went wrong, counted once by job_close. */
#define JOB_ERR_SCRAPE	0x1	/* pushprox_client_scrape_errors_total */
#define JOB_ERR_PUSH	0x2	/* pushprox_client_push_errors_total */

struct job {
	TAILQ_ENTRY(job)	 entry;
	struct client		*c;
	struct poller		*poller;	/* whose proxy gets the push */
	enum job_state		 state;
	struct scrapereq	*req;
	struct timespec		 start;		/* CLOCK_MONOTONIC */
	bool			 admitted;	/* counted in c->ntargets */
	unsigned		 errors;	/* JOB_ERR_* */
	int			 answered;	/* job_fail's status, or 0 */
	struct event		*kick;		/* window.c: deferred work */
	struct buf		 body;		/* whole, or the window */
	/* fetch.c: the target transfer. */
	CURL			*target;
	struct curl_slist	*hdrs;
	char			 target_err[CURL_ERROR_SIZE];
	char			*url;		/* the hop being fetched */
	char			*location; /* the head's Location, or NULL */
	int64_t			 hops;		/* redirects followed */
	bool			 cross_origin;	/* a hop left the origin */
	struct buf		 head; /* header lines, final response */
	char			 reason[LIMIT_MAX_REASON_BYTES + 1];
	long			 status;	/* of the head kept */
	curl_off_t		 declared;	/* its Content-Length, or -1 */
	int64_t			 total;		/* body bytes received */
	const char		*fail; /* why we aborted the transfer */
	char			 failbuf[128];	/* fail, when formatted */
	/* window.c: bytes of body already pushed while streaming. */
	size_t			 qoff;
	/* upload.c: the push transfer. */
	CURL			*push;
	struct curl_slist	*push_hdrs;
	char			 push_err[CURL_ERROR_SIZE];
	struct buf		 push_head;
	size_t			 push_off;	/* over push_head, then body */
	struct chunk		 chunk;		/* framing of a streamed body */
	struct gzbody		 gz;		/* a streamed body compressed */
	struct buf		 answer;	/* first bytes of the proxy's */
	/*
	 * The --targets.file target this scrape stands for (a named target,
	 * or a plain scrape of a listed URL): a copy, kept across reloads.
	 * Its url, unix_socket and tls apply while the hops stay on its
	 * origin.
	 */
	struct target		 tgt;
	bool			 has_tgt;
	struct curl_slist	*connect;	/* CURLOPT_CONNECT_TO, owned */
};

/*
 * Starts a job for the scrape p received; takes ownership of req (which
 * must have an id).  A request with an error, refused by --scrape.allow
 * or over --scrape.max-concurrency is answered at once with a 500, 403 or
 * 503 push.  Never fails: problems become pushes or logs.
 */
void job_start(struct client *c, struct poller *p, struct scrapereq *req);

/*
 * Shutdown's deadline: a job whose target is still being fetched (its
 * push not started) stops it and is answered 503 with why; one already
 * pushing goes on.
 */
void job_cancel(struct job *j, const char *why);

/*
 * The only teardown: cancels the transfers, counts the outcome
 * (job->errors), logs why at debug and frees j.
 */
void job_close(struct job *j, const char *why);

/* The only way to change j->state; logged at debug. */
void job_set_state(struct job *j, enum job_state st);

/* Whether the push reads the window (the target may still be running). */
bool job_streaming(const struct job *j);

/* Answers the proxy with status and msg as a text body (a scrape error). */
void job_fail(struct job *j, int status, const char *msg);

/* The URL of the scrape, for messages (borrowed). */
const char *job_url(const struct job *j);

/* Milliseconds since the job started. */
int64_t job_elapsed_ms(const struct job *j);

#endif
