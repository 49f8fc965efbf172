/*
 * The job's lifecycle: admission (an erroneous request, a named target
 * the client does not have, one refused by --targets.file or
 * --scrape.allow and one over --scrape.max-concurrency are answered with
 * a 500, 404, 403 or 503 push at once; the others fetch the target: with
 * --targets.file, a name or a listed URL becomes a copy of that target,
 * whose url is fetched), the state
 * machine (job_set_state, the only writer of j->state), the error answer
 * (job_fail: a text body the proxy can show to Prometheus) and the one
 * teardown, job_close, which cancels both transfers, counts the outcome
 * and frees.  See job.h for the states.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "allow.h"
#include "client.h"
#include "clientstatus.h"
#include "config.h"
#include "curlev.h"
#include "fetch.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"
#include "scrapereq.h"
#include "targets.h"
#include "upload.h"
#include "window.h"

static const char *const job_state_names[] = {
	"new", "fetching", "receiving", "redirecting", "opening",
	"streaming", "window-full", "window-empty", "stalled", "draining",
	"cut", "pushing", "done",
};

void
job_set_state(struct job *j, enum job_state st)
{
	if (j->state == st)
		return;
	log_debug("job state", "id", j->req->id,
	    "from", job_state_names[j->state], "to", job_state_names[st]);
	j->state = st;
}

bool
job_streaming(const struct job *j)
{
	return j->state >= JOB_OPENING && j->state <= JOB_CUT;
}

const char *
job_url(const struct job *j)
{
	if (j->req->url != NULL)
		return j->req->url;
	return j->req->target != NULL ? j->req->target : "(unknown)";
}

int64_t
job_elapsed_ms(const struct job *j)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - j->start.tv_sec) * 1000 +
	    (now.tv_nsec - j->start.tv_nsec) / 1000000;
}

void
job_fail(struct job *j, int status, const char *msg)
{
	log_warn("scrape failed", "id", j->req->id, "url", job_url(j),
	    "err", msg);
	j->errors |= JOB_ERR_SCRAPE;
	j->answered = status;
	job_set_state(j, JOB_PUSHING);
	buf_release(&j->body);
	buf_init(&j->body, LIMIT_ERROR_BODY_BYTES);
	if (buf_puts(&j->body, msg) == -1 || buf_puts(&j->body, "\n") == -1) {
		/* Too long: a shorter body still answers the scrape. */
		buf_reset(&j->body);
		if (buf_puts(&j->body, "scrape failed (message too long)\n") ==
		    -1)
			buf_reset(&j->body);
	}
	if (upload_error_head(j, status) == -1) {
		log_warn("scrape dropped", "id", j->req->id, "url", job_url(j),
		    "err", "cannot write the error response head");
		j->errors |= JOB_ERR_PUSH;
		job_close(j, "cannot write the error response");
		return;
	}
	upload_start(j);
}

/*
 * Takes t (borrowed from the set) as the job's target: a copy, and its URL
 * to fetch.  0, or -1 after answering (out of memory).
 */
static int
job_take_target(struct job *j, const struct target *t)
{
	char	 msg[LIMIT_ERROR_BODY_BYTES];

	if (targets_target_copy(&j->tgt, t) == -1 ||
	    (j->url = strdup(j->tgt.url)) == NULL) {
		targets_target_release(&j->tgt);
		j->url = j->req->url;
		snprintf(msg, sizeof(msg), "scrape of %s failed: out of memory "
		    "for its target", job_url(j));
		job_fail(j, 503, msg);
		return -1;
	}
	j->has_tgt = true;
	return 0;
}

/*
 * With --targets.file, or for a named target: a name is looked up (404
 * naming the targets there are if unknown); a plain scrape is the listed
 * target with its URL, else allowed only by --scrape.allow rules (403).
 * 0 if the job may run, else answered.
 */
static int
job_route(struct job *j)
{
	struct client		*c = j->c;
	const struct client_config *cfg = c->cfg;
	const struct target	*t;
	char			 msg[LIMIT_ERROR_BODY_BYTES];
	char			 why[LIMIT_ERROR_BODY_BYTES / 2];

	if (j->req->name != NULL) {
		if (c->targets != NULL &&
		    (t = targets_find_by_name(c->targets, j->req->name)) !=
		    NULL)
			return job_take_target(j, t);
		targets_list_names(c->targets, why, sizeof(why));
		snprintf(msg, sizeof(msg), "no target \"%s\" on client %s (it "
		    "has: %s)", j->req->name, cfg->fqdn, why);
		job_fail(j, 404, msg);
		return -1;
	}
	if ((t = targets_find_by_url(c->targets, cfg->fqdn, j->req->url)) !=
	    NULL) {
		log_debug("plain scrape is a listed target", "id", j->req->id,
		    "url", j->req->url, "target", t->name);
		return job_take_target(j, t);
	}
	if (allow_count(cfg->allow) > 0 &&
	    allow_match(cfg->allow, j->req->port, j->req->path))
		return 0;
	if (allow_count(cfg->allow) > 0) {
		allow_explain(cfg->allow, j->req->port, j->req->path, why,
		    sizeof(why));
		snprintf(msg, sizeof(msg), "pushprox-client: scrape of %.1024s "
		    "refused: no target of --targets.file %s has this URL, and "
		    "%s", job_url(j), c->targets->path, why);
	} else
		snprintf(msg, sizeof(msg), "pushprox-client: scrape of %.1024s "
		    "refused: no target of --targets.file %s has this "
		    "URL (with a targets file, only its targets are "
		    "scraped; scrape a target by name at "
		    "http://%s:0/pushprox/targets/NAME/metrics)",
		    job_url(j), c->targets->path, cfg->fqdn);
	job_fail(j, 403, msg);
	return -1;
}

/* The refusals that need no target; 0 if admitted, else answered. */
static int
job_admit(struct job *j)
{
	struct client	*c = j->c;
	char		 msg[LIMIT_ERROR_BODY_BYTES];
	char		 why[LIMIT_ERROR_BODY_BYTES / 2];

	if (j->req->error != NULL) {
		job_fail(j, j->req->error_status, j->req->error);
		return -1;
	}
	if (j->req->name != NULL || c->targets != NULL) {
		if (job_route(j) == -1)
			return -1;
	} else if (!allow_match(c->cfg->allow, j->req->port, j->req->path)) {
		allow_explain(c->cfg->allow, j->req->port, j->req->path, why,
		    sizeof(why));
		snprintf(msg, sizeof(msg), "pushprox-client: scrape of %.1024s "
		    "refused: %s", job_url(j), why);
		job_fail(j, 403, msg);
		return -1;
	}
	if (c->ntargets >= (size_t)c->cfg->scrape_max_concurrency) {
		snprintf(msg, sizeof(msg), "scrape of %s refused: the client "
		    "already runs %" PRId64 " scrapes "
		    "(--scrape.max-concurrency)",
		    job_url(j), c->cfg->scrape_max_concurrency);
		job_fail(j, 503, msg);
		return -1;
	}
	j->admitted = true;
	c->ntargets++;
	metric_set(c->m.in_flight, (double)c->ntargets);
	return 0;
}

void
job_start(struct client *c, struct poller *p, struct scrapereq *req)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warn("scrape dropped", "id", req->id, "url",
		    req->url != NULL ? req->url : "(unknown)", "err",
		    "out of memory for the job");
		scrapereq_free(req);
		return;
	}
	j->c = c;
	j->poller = p;
	j->req = req;
	j->url = req->url;
	j->declared = -1;
	clock_gettime(CLOCK_MONOTONIC, &j->start);
	buf_init(&j->head, LIMIT_MAX_HEADER_BYTES);
	buf_init(&j->body, (size_t)c->cfg->scrape_max_bytes);
	buf_init(&j->push_head, LIMIT_MAX_HEADER_BYTES + LIMIT_PUSH_HEAD_SLACK);
	buf_init(&j->answer, LIMIT_LOG_ANSWER_BYTES);
	if ((j->kick = event_new(c->base, -1, 0, window_kick_cb, j)) == NULL) {
		log_warn("scrape dropped", "id", req->id, "url", job_url(j),
		    "err", "cannot create its event (out of memory)");
		scrapereq_free(req);
		free(j);
		return;
	}
	TAILQ_INSERT_TAIL(&c->jobs, j, entry);
	c->njobs++;
	metric_add(c->m.scrapes, 1);
	log_debug("scrape requested", "id", req->id, "url", job_url(j));
	if (job_admit(j) == 0)
		fetch_start(j);
}

void
job_close(struct job *j, const char *why)
{
	struct client	*c = j->c;
	char		 ms[32];

	clientstatus_record(c->status, j, why);
	if (j->target != NULL) {
		curlev_remove(c->cev, j->target);
		curl_easy_cleanup(j->target);
	}
	if (j->push != NULL) {
		curlev_remove(c->cev, j->push);
		curl_easy_cleanup(j->push);
	}
	event_free(j->kick);
	gzbody_end(&j->gz);
	curl_slist_free_all(j->push_hdrs);
	curl_slist_free_all(j->hdrs);
	if (j->admitted) {
		c->ntargets--;
		metric_set(c->m.in_flight, (double)c->ntargets);
	}
	if (j->errors & JOB_ERR_SCRAPE)
		metric_add(c->m.scrape_errors, 1);
	if (j->errors & JOB_ERR_PUSH)
		metric_add(c->m.push_errors, 1);
	job_set_state(j, JOB_DONE);
	snprintf(ms, sizeof(ms), "%" PRId64, job_elapsed_ms(j));
	log_debug("scrape closed", "id", j->req->id, "reason", why,
	    "elapsed_ms", ms);
	TAILQ_REMOVE(&c->jobs, j, entry);
	c->njobs--;
	buf_release(&j->head);
	buf_release(&j->body);
	buf_release(&j->push_head);
	buf_release(&j->answer);
	if (j->url != j->req->url)
		free(j->url);
	free(j->location);
	targets_target_release(&j->tgt);
	curl_slist_free_all(j->connect);
	scrapereq_free(j->req);
	free(j);
	client_job_gone(c);	/* wakes the pollers waiting for a slot */
}

void
job_cancel(struct job *j, const char *why)
{
	if (j->push != NULL || j->target == NULL)
		return;
	curlev_remove(j->c->cev, j->target);
	curl_easy_cleanup(j->target);
	j->target = NULL;
	job_fail(j, 503, why);
}
