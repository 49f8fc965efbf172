/*
 * Worker threads for password checks (see authpool.h).
 *
 * Results come back to the loop through a pipe watched by a libevent
 * event, not through event_active from the workers: that would need
 * evthread_use_pthreads before the event base exists and would put a lock
 * on every libevent call of every connection, for the sake of an event
 * that fires a few times a second at most.  With the pipe, libevent stays
 * single-threaded; workers only touch the pool's mutex-protected lists and
 * write one byte per batch of finished jobs (notified says one is on its
 * way).  Workers block every signal, so signals reach the loop thread.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "authpool.h"
#include "log.h"

enum authpool_job_state {
	AUTHPOOL_QUEUED,
	AUTHPOOL_RUNNING,
	AUTHPOOL_DONE,
};

struct authpool_job {
	TAILQ_ENTRY(authpool_job)	 entry;
	authpool_work_cb		 work;
	authpool_done_cb		 done;
	void				*arg;
	enum authpool_job_state		 state;
};

TAILQ_HEAD(authpool_jobs, authpool_job);

struct authpool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* a job was queued, or stop */
	struct authpool_jobs	 queue;		/* waiting for a worker */
	struct authpool_jobs	 done;		/* finished, for the loop */
	size_t			 nqueued;
	size_t			 queue_max;
	int			 stop;
	int			 notified;	/* a byte is in the pipe */
	int			 pipe[2];
	struct event		*notify_ev;
	pthread_t		*threads;
	size_t			 nthreads;
};

static void *
authpool_worker(void *arg)
{
	struct authpool *p = arg;
	struct authpool_job *job;
	char one = 1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && TAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stop)
			break;
		job = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, job, entry);
		p->nqueued--;
		job->state = AUTHPOOL_RUNNING;
		pthread_mutex_unlock(&p->lock);

		job->work(job->arg);

		pthread_mutex_lock(&p->lock);
		job->state = AUTHPOOL_DONE;
		TAILQ_INSERT_TAIL(&p->done, job, entry);
		if (!p->notified) {
			/*
			 * EAGAIN: the pipe is full, so the loop wakes anyway.
			 */
			if (write(p->pipe[1], &one, 1) == 1 || errno == EAGAIN)
				p->notified = 1;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Hands finished jobs to their done callbacks, on the loop thread. */
static void
authpool_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct authpool *p = arg;
	struct authpool_jobs ready = TAILQ_HEAD_INITIALIZER(ready);
	struct authpool_job *job;
	char drain[64];

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&p->lock);
	TAILQ_CONCAT(&ready, &p->done, entry);
	p->notified = 0;
	pthread_mutex_unlock(&p->lock);
	while ((job = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, job, entry);
		job->done(1, job->arg);
		free(job);
	}
}

struct authpool *
authpool_new(struct event_base *base, size_t nthreads, size_t queue_max)
{
	struct authpool *p;
	sigset_t all, old;
	char err[128];
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->pipe[0] = p->pipe[1] = -1;
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->done);
	p->queue_max = queue_max;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return NULL;
	}
	if (pthread_cond_init(&p->wake, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	if (pipe2(p->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_error("cannot create the password check pool's pipe",
		    "error", strerror(errno));
		authpool_free(p);
		return NULL;
	}
	if ((p->notify_ev = event_new(base, p->pipe[0], EV_READ | EV_PERSIST,
	    authpool_notify_cb, p)) == NULL || event_add(p->notify_ev,
	    NULL) == -1 || (p->threads = calloc(nthreads,
	    sizeof(*p->threads))) == NULL) {
		authpool_free(p);
		return NULL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->nthreads < nthreads; p->nthreads++) {
		if ((rc = pthread_create(&p->threads[p->nthreads], NULL,
		    authpool_worker, p)) != 0) {
			snprintf(err, sizeof(err), "%s", strerror(rc));
			log_error("cannot start a password check thread",
			    "error", err);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			authpool_free(p);
			return NULL;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

void
authpool_free(struct authpool *p)
{
	struct authpool_job *job;
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	/* No worker is left: the lists are ours alone. */
	while ((job = TAILQ_FIRST(&p->done)) != NULL) {
		TAILQ_REMOVE(&p->done, job, entry);
		job->done(1, job->arg);
		free(job);
	}
	while ((job = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, job, entry);
		job->done(0, job->arg);
		free(job);
	}
	if (p->notify_ev != NULL)
		event_free(p->notify_ev);
	if (p->pipe[0] != -1)
		close(p->pipe[0]);
	if (p->pipe[1] != -1)
		close(p->pipe[1]);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct authpool_job *
authpool_submit(struct authpool *p, authpool_work_cb work,
    authpool_done_cb done, void *arg)
{
	struct authpool_job *job;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return NULL;
	job->work = work;
	job->done = done;
	job->arg = arg;
	job->state = AUTHPOOL_QUEUED;
	pthread_mutex_lock(&p->lock);
	if (p->nqueued >= p->queue_max) {
		pthread_mutex_unlock(&p->lock);
		free(job);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&p->queue, job, entry);
	p->nqueued++;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return job;
}

bool
authpool_cancel(struct authpool *p, struct authpool_job *job)
{
	bool dropped = false;

	pthread_mutex_lock(&p->lock);
	if (job->state == AUTHPOOL_QUEUED) {
		TAILQ_REMOVE(&p->queue, job, entry);
		p->nqueued--;
		dropped = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (dropped)
		free(job);
	return dropped;
}

size_t
authpool_queued(struct authpool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->nqueued;
	pthread_mutex_unlock(&p->lock);
	return n;
}
