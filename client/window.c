/*
 * The window: j->body holds the bytes received and not yet pushed, from
 * j->qoff on.  While the job is held whole (RECEIVING) the body grows up
 * to LIMIT_RELAY_HIGH_WATER; one more write opens the window (OPENING)
 * and the kick starts the push (upload_stream).  Then the write side
 * pauses the target when the window is full (WINDOW_FULL), the read side
 * pauses the push when it is empty (WINDOW_EMPTY, or STALLED when the
 * target was paused too), and the kick, from the loop, resumes them:
 * memory per job stays constant whatever the body size.  The target's end
 * is DRAINING (the push sends the rest and the last chunk) or CUT (the
 * push is aborted, so that the proxy sees a truncated body).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "client.h"
#include "curlev.h"
#include "job.h"
#include "log.h"
#include "upload.h"
#include "window.h"

#define WINDOW_BYTES	LIMIT_RELAY_HIGH_WATER

/* Whether the state has the push, or the target, paused. */
static bool
window_push_paused(const struct job *j)
{
	return j->state == JOB_WINDOW_EMPTY || j->state == JOB_STALLED;
}

static bool
window_target_paused(const struct job *j)
{
	return j->state == JOB_WINDOW_FULL || j->state == JOB_STALLED;
}

size_t
window_write(struct job *j, const char *data, size_t len)
{
	if (j->state == JOB_RECEIVING) {
		if (j->body.len + len > WINDOW_BYTES)
			/* Too large to hold: push while the target answers. */
			job_set_state(j, JOB_OPENING);
	} else {
		if (j->body.len - j->qoff >= WINDOW_BYTES) {
			/* The push is behind: curl keeps this data for us. */
			job_set_state(j, window_push_paused(j) ? JOB_STALLED :
			    JOB_WINDOW_FULL);
			return CURL_WRITEFUNC_PAUSE;
		}
		if (j->qoff > 0) {
			memmove(j->body.data, j->body.data + j->qoff,
			    j->body.len - j->qoff);
			j->body.len -= j->qoff;
			j->qoff = 0;
		}
	}
	if (buf_append(&j->body, data, len) == -1) {
		j->fail = "out of memory for the response body";
		return CURL_WRITEFUNC_ERROR;
	}
	if (job_streaming(j))
		event_active(j->kick, EV_TIMEOUT, 0);
	return len;
}

/*
 * window_read for a compressed push: the window's bytes go through the
 * deflate stream; its output, taken from the fixed buffer, is framed.
 * Input deflate keeps for later yields no output: then the push waits as
 * for an empty window, never reads as ended.
 */
static size_t
window_read_gzip(struct job *j, char *dst, size_t want, size_t done)
{
	struct gzbody	*g = &j->gz;
	size_t		 avail, pend, taken;

	for (;;) {
		if ((pend = gzbody_pending(g)) > 0) {
			done += chunk_put(&j->chunk, dst + done, want - done,
			    (const char *)g->out + g->off, pend, &taken);
			g->off += taken;
			if (taken < pend)
				return done;	/* curl's buffer is full */
			continue;
		}
		if (g->ended)
			return done + chunk_end(&j->chunk, dst + done,
			    want - done);
		avail = j->body.len - j->qoff;
		if (avail == 0) {
			if (j->state == JOB_CUT)
				return CURL_READFUNC_ABORT;
			if (j->state == JOB_DRAINING) {
				(void)gzbody_deflate(g, NULL, 0, true);
				continue;
			}
			if (done > 0)
				return done;
			job_set_state(j, window_target_paused(j) ?
			    JOB_STALLED : JOB_WINDOW_EMPTY);
			return CURL_READFUNC_PAUSE;
		}
		taken = gzbody_deflate(g, j->body.data + j->qoff, avail, false);
		j->qoff += taken;
		if (taken > 0 && window_target_paused(j))
			event_active(j->kick, EV_TIMEOUT, 0);
	}
}

size_t
window_read(struct job *j, char *dst, size_t want, size_t done)
{
	size_t	 avail = j->body.len - j->qoff, taken;

	if (done == want)
		return done;
	if (j->gz.on)
		return window_read_gzip(j, dst, want, done);
	if (avail == 0) {
		if (j->state == JOB_CUT)
			return CURL_READFUNC_ABORT;
		if (j->state == JOB_DRAINING)
			return done + chunk_end(&j->chunk, dst + done,
			    want - done);
		if (done > 0)
			return done;
		job_set_state(j, window_target_paused(j) ? JOB_STALLED :
		    JOB_WINDOW_EMPTY);
		return CURL_READFUNC_PAUSE;
	}
	done += chunk_put(&j->chunk, dst + done, want - done,
	    j->body.data + j->qoff, avail, &taken);
	j->qoff += taken;
	if (taken > 0 && window_target_paused(j))
		event_active(j->kick, EV_TIMEOUT, 0);
	return done;
}

/* The window opened: relay the head and start the push, or fail. */
static void
window_open(struct job *j)
{
	char	 why[LIMIT_ERROR_BODY_BYTES / 2];
	char	 msg[LIMIT_ERROR_BODY_BYTES];

	if (upload_stream(j, why, sizeof(why)) == 0)
		return;
	/* Nothing pushed yet: answered as a failed scrape (502). */
	if (j->target != NULL) {
		curlev_remove(j->c->cev, j->target);
		curl_easy_cleanup(j->target);
		j->target = NULL;
	}
	snprintf(msg, sizeof(msg), "scrape of %s failed: %s", job_url(j), why);
	job_fail(j, 502, msg);
}

void
window_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job	*j = arg;

	if (!job_streaming(j))
		return;
	if (j->push == NULL) {
		window_open(j);
		return;
	}
	if (j->state == JOB_DRAINING || j->state == JOB_CUT) {
		/* The push may wait on an empty window: let it finish. */
		curl_easy_pause(j->push, CURLPAUSE_CONT);
		return;
	}
	/* Each state set first: resuming may call back at once. */
	if (window_push_paused(j) && j->body.len > j->qoff) {
		job_set_state(j, window_target_paused(j) ? JOB_WINDOW_FULL :
		    JOB_STREAMING);
		curl_easy_pause(j->push, CURLPAUSE_CONT);
	}
	if (window_target_paused(j) && j->target != NULL &&
	    j->body.len - j->qoff < WINDOW_BYTES) {
		job_set_state(j, window_push_paused(j) ? JOB_WINDOW_EMPTY :
		    JOB_STREAMING);
		curl_easy_pause(j->target, CURLPAUSE_CONT);
	}
}
