/*
 * The poll loop of one proxy as a small state machine: IDLE -> POLLING ->
 * (answer) -> POLLING again at once, or -> BACKOFF -> (timer) -> POLLING,
 * or, after an empty poll shorter than LIMIT_POLL_MIN_EMPTY_MS, -> PAUSED
 * -> (timer) -> POLLING, so that a proxy answering 204 at once is not
 * polled in a tight loop; a 204 with "Pushprox-Advertise: required" ->
 * ADVERTISING -> (POST /advertise ended) -> POLLING at once, or BACKOFF if
 * it failed.  STOPPED is final.  Every request carries Pushprox-Fqdn; a
 * poll carries Pushprox-Targets while advertise.c says so.  Each poll is a
 * fresh easy handle (the multi's connection cache keeps the connection to
 * the proxy alive between them); the answer body is capped in the write
 * callback.  A failed poll logs one warn line and waits initial-wait, then
 * 1.5 times longer each time up to max-wait, each wait jittered by +-20%;
 * any good answer resets the back-off.  A 401 or 403 is a failed poll like
 * any other, logged with what to check.  The bearer token
 * (--auth.token-file), if any, is one of the poll's headers.  While 2 x
 * --scrape.max-concurrency scrapes are in flight (targets and pushes), the
 * poller waits (FULL) until one ends, so that a proxy answering every poll
 * at once cannot pile up pushes.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "advertise.h"
#include "buf.h"
#include "client.h"
#include "config.h"
#include "curlev.h"
#include "duration.h"
#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "netpolicy.h"
#include "poller.h"
#include "job.h"
#include "scrapereq.h"

enum poller_state {
	POLLER_IDLE,
	POLLER_POLLING,
	POLLER_BACKOFF,
	POLLER_PAUSED,
	POLLER_FULL,		/* too many scrapes in flight */
	POLLER_ADVERTISING, /* the proxy asked: POST /advertise, then poll */
	POLLER_STOPPED,
};

static const char *const poller_state_names[] = {
	"idle", "polling", "backoff", "paused", "full", "advertising",
	"stopped",
};

static const char *const poller_outcome_names[] = {
	[ADVERTISE_STORED] = "stored", [ADVERTISE_NOT_FOUND] = "unsupported",
	[ADVERTISE_REFUSAL] = "refused", [ADVERTISE_FAILED] = "failed",
};

/* Jobs in flight (targets and pushes) above which polling waits. */
#define POLLER_MAX_JOBS(c)	((size_t)(c)->cfg->scrape_max_concurrency * 2)

struct poller {
	struct client		*c;
	const struct config_proxy *px;
	enum poller_state	 state;
	bool			 up;		/* last poll succeeded */
	bool			 after_advert;	/* this poll follows one */
	struct advertise	 adv;
	CURL			*easy;
	struct curl_slist	*hdrs;		/* of the poll in flight */
	struct buf		 body;
	char			 fail[96];	/* why we ended it, or "" */
	char			 errbuf[CURL_ERROR_SIZE];
	struct event		*timer;
	int64_t			 backoff_ms;	/* last wait; 0 after success */
	struct timespec		 sent_at;	/* CLOCK_MONOTONIC, last poll */
	/* The last failed poll, for the status page (clientstatus.c). */
	char			 last_err[LIMIT_CLIENT_STATUS_FIELD_BYTES];
	time_t			 last_err_at;	/* wall clock; 0: none yet */
};

static void poller_send(struct poller *);

static void
poller_set_state(struct poller *p, enum poller_state st)
{
	if (p->state == st)
		return;
	log_debug("poller state", "proxy", p->px->url_log,
	    "from", poller_state_names[p->state], "to",
	    poller_state_names[st]);
	p->state = st;
}

/* Records whether the last poll succeeded (pushprox_client_proxy_up). */
static void
poller_set_up(struct poller *p, bool up)
{
	p->up = up;
	metric_set(p->c->m.proxy_up, up ? 1.0 : 0.0, p->px->url_log);
}

int64_t
poller_next_backoff(int64_t prev_ms, int64_t initial_ms, int64_t max_ms)
{
	int64_t	 next;

	if (prev_ms <= 0)
		next = initial_ms;
	else
		next = prev_ms + prev_ms / 2;
	return next > max_ms ? max_ms : next;
}

/*
 * While polling, the timer fires LIMIT_POLL_MIN_EMPTY_MS after the poll
 * went out: a poll whose request is sent and that has no answer yet is
 * parked at the proxy, so the proxy is up (a restarted proxy shows up
 * without waiting for that poll to end).
 */
static void
poller_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller	*p = arg;
	long		 status = 0;
	curl_off_t	 sent = 0;

	if (p->state == POLLER_BACKOFF || p->state == POLLER_PAUSED) {
		poller_send(p);
		return;
	}
	if (p->state != POLLER_POLLING || p->easy == NULL || p->up)
		return;
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(p->easy, CURLINFO_REQUEST_SIZE, &sent);
	if (status == 0 && sent > 0)
		poller_set_up(p, true);
}

static int64_t
poller_elapsed_ms(const struct poller *p)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - p->sent_at.tv_sec) * 1000 +
	    (now.tv_nsec - p->sent_at.tv_nsec) / 1000000;
}

/*
 * The proxy had nothing for us (204, or our own deadline): poll again at
 * once, or after initial-wait if this poll was suspiciously short.
 */
static void
poller_again(struct poller *p, const char *why)
{
	int64_t		 took = poller_elapsed_ms(p);
	char		 ms[32], wait[32];
	struct timeval	 tv;

	p->backoff_ms = 0;
	if (took >= LIMIT_POLL_MIN_EMPTY_MS) {
		poller_send(p);
		return;
	}
	snprintf(ms, sizeof(ms), "%" PRId64, took);
	duration_format(p->c->cfg->retry_initial_ms, wait, sizeof(wait));
	log_debug("empty poll returned quickly, pausing", "proxy",
	    p->px->url_log, "why", why, "took_ms", ms, "retry_in", wait);
	poller_set_state(p, POLLER_PAUSED);
	duration_to_timeval(p->c->cfg->retry_initial_ms, &tv);
	if (evtimer_add(p->timer, &tv) == -1)
		fatal("evtimer_add failed");
}

/* Counts and logs one failed poll, then waits before the next one. */
static void
poller_backoff(struct poller *p, long status, const char *ctype,
    const char *err)
{
	char		 st[24], wait[32], head[LIMIT_LOG_ANSWER_BYTES + 1];
	size_t		 n = p->body.len < LIMIT_LOG_ANSWER_BYTES ?
			    p->body.len : LIMIT_LOG_ANSWER_BYTES;
	int64_t		 ms;
	struct timeval	 tv;

	p->backoff_ms = poller_next_backoff(p->backoff_ms,
	    p->c->cfg->retry_initial_ms, p->c->cfg->retry_max_ms);
	/* +-20% so that clients restarted together spread out. */
	ms = (int64_t)((double)p->backoff_ms *
	    (0.8 + 0.4 * (double)random() / (double)RAND_MAX));
	if (ms < 1)
		ms = 1;
	memcpy(head, buf_cstr(&p->body), n);
	head[n] = '\0';
	snprintf(st, sizeof(st), "%ld", status);
	duration_format(ms, wait, sizeof(wait));
	log_warn("poll failed", "proxy", p->px->url_log, "url",
	    p->px->poll_url_log, "status", st, "content_type", ctype, "body",
	    head, "err", err, "retry_in", wait);
	metric_add(p->c->m.poll_errors, 1);
	metric_add(p->c->m.proxy_poll_errors, 1, p->px->url_log);
	if (status != 0)
		snprintf(p->last_err, sizeof(p->last_err), "HTTP %ld: %s",
		    status, err);
	else
		snprintf(p->last_err, sizeof(p->last_err), "%s", err);
	p->last_err_at = time(NULL);
	poller_set_up(p, false);
	poller_set_state(p, POLLER_BACKOFF);
	duration_to_timeval(ms, &tv);
	if (evtimer_add(p->timer, &tv) == -1)
		fatal("evtimer_add failed");
}

/* Whether a poll answer's Content-Type may carry a scrape request. */
static bool
poller_type_ok(const char *ctype)
{
	return ctype == NULL || ctype[0] == '\0' ||
	    strncasecmp(ctype, "text/plain", strlen("text/plain")) == 0 ||
	    strncasecmp(ctype, "message/http", strlen("message/http")) == 0;
}

/* A 200: hand the scrape over, or fail the poll if it cannot be read. */
static void
poller_answer(struct poller *p, const char *ctype)
{
	struct scrapereq	*req;

	if (!poller_type_ok(ctype)) {
		poller_backoff(p, 200, ctype, "unexpected Content-Type");
		return;
	}
	req = scrapereq_parse(p->body.data != NULL ? p->body.data : "",
	    p->body.len, p->c->cfg->fqdn,
	    p->c->cfg->scrape_default_timeout_ms);
	if (req == NULL || req->id == NULL) {
		poller_backoff(p, 200, ctype, req != NULL ? req->error :
		    "out of memory");
		scrapereq_free(req);
		return;
	}
	p->backoff_ms = 0;
	poller_set_up(p, true);
	metric_add(p->c->m.proxy_scrapes, 1, p->px->url_log);
	job_start(p->c, p, req);
	if (p->c->njobs >= POLLER_MAX_JOBS(p->c)) {
		log_debug("scrapes in flight at the limit, polling waits",
		    "limit", "2 x --scrape.max-concurrency");
		poller_set_state(p, POLLER_FULL);
		return;
	}
	poller_send(p);
}

/* The client's current tag, or NULL when it advertises nothing. */
static const char *
poller_client_tag(const struct poller *p)
{
	return p->c->advert.json != NULL ? p->c->advert.tag : NULL;
}

/* Whether the answer says "Pushprox-Advertise: required". */
static bool
poller_advertise_required(CURL *easy)
{
	struct curl_header	*h = NULL;

	return curl_easy_header(easy, "Pushprox-Advertise", 0, CURLH_HEADER,
	    -1, &h) == CURLHE_OK && h != NULL && h->value != NULL &&
	    strcasecmp(h->value, "required") == 0;
}

/*
 * An empty answer asking for our advertisement: send it, then poll at
 * once.  Asked again right after one, the next poll waits as after a
 * quick empty poll, so that a proxy that never stores it is not hammered.
 */
static void
poller_asked(struct poller *p)
{
	bool	 again = p->after_advert;

	p->after_advert = false;
	if (again || !advertise_asked(&p->adv, poller_client_tag(p))) {
		poller_again(p, again ? "advertisement asked again" :
		    "no content");
		return;
	}
	p->backoff_ms = 0;
	poller_set_state(p, POLLER_ADVERTISING);
	if (advertise_send(&p->adv) == -1)
		poller_backoff(p, 204, "", "cannot send the advertisement");
}

/* Sorts a finished poll into answer, "poll again" and failure. */
static void
poller_finish(struct poller *p, CURL *easy, CURLcode res)
{
	long		 status = 0;
	curl_off_t	 sent = 0;
	char		*ct = NULL, ctype[256];
	const char	*err;
	bool		 asked;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
	curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(ctype, sizeof(ctype), "%s", ct != NULL ? ct : "");
	err = p->fail[0] != '\0' ? p->fail :
	    p->errbuf[0] != '\0' ? p->errbuf : curl_easy_strerror(res);
	asked = res == CURLE_OK && status == 204 &&
	    poller_advertise_required(easy);
	curl_easy_cleanup(easy);
	p->easy = NULL;
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
	poller_set_state(p, POLLER_IDLE);

	if (res == CURLE_OK && status == 200) {
		p->after_advert = false;
		poller_answer(p, ctype);
	} else if (asked) {
		poller_set_up(p, true);
		poller_asked(p);
	} else if (res == CURLE_OK && status == 204) {
		p->after_advert = false;
		poller_set_up(p, true);
		poller_again(p, "no content");
	} else if (res == CURLE_OPERATION_TIMEDOUT && status == 0 &&
	    sent > 0) {
		/* Our own deadline: the proxy had nothing for us. */
		log_debug("poll timed out, polling again", "proxy",
		    p->px->url_log);
		p->after_advert = false;
		poller_set_up(p, true);
		poller_again(p, "poll timeout");
	} else if (res == CURLE_OK && (status == 401 || status == 403))
		poller_backoff(p, status, ctype,
		    config_auth_refusal(p->c->cfg, status));
	else
		poller_backoff(p, status, ctype, res == CURLE_OK ?
		    "unexpected status" : err);
}

static void
poller_done_cb(CURL *easy, CURLcode res, void *arg)
{
	poller_finish(arg, easy, res);
}

static size_t
poller_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct poller	*p = arg;

	if (buf_append(&p->body, data, size * n) == -1) {
		snprintf(p->fail, sizeof(p->fail), "poll answer larger than "
		    "%zu bytes", p->body.max);
		return CURL_WRITEFUNC_ERROR;
	}
	return size * n;
}

/*
 * The headers of one poll: no form Content-Type, no 100-continue round
 * trip, the bearer token, Pushprox-Fqdn, and Pushprox-Targets when this
 * proxy is to get it; -1 on ENOMEM (p->hdrs then freed by the caller).
 */
static int
poller_headers(struct poller *p)
{
	const char	*tag = advertise_poll_tag(&p->adv,
	    poller_client_tag(p));
	char		 th[sizeof("Pushprox-Targets: ") + ADVERT_MAX_TAG];

	if ((p->hdrs = curl_slist_append(NULL, "Content-Type: text/plain")) ==
	    NULL || curl_slist_append(p->hdrs, "Expect:") == NULL ||
	    curl_slist_append(p->hdrs, p->c->fqdn_header) == NULL ||
	    config_append_auth(p->c->cfg, &p->hdrs) == -1)
		return -1;
	if (tag != NULL) {
		snprintf(th, sizeof(th), "Pushprox-Targets: %s", tag);
		if (curl_slist_append(p->hdrs, th) == NULL)
			return -1;
	}
	return 0;
}

/* Sets every option of one poll; -1 if curl refused one. */
static int
poller_setup(struct poller *p, CURL *e)
{
	const struct client_config	*cfg = p->c->cfg;

	if (poller_headers(p) == -1 ||
	    curl_easy_setopt(e, CURLOPT_URL, p->px->poll_url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, cfg->fqdn) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(cfg->fqdn)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)cfg->poll_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)LIMIT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE,
	    (long)LIMIT_POLL_KEEPALIVE_S) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL,
	    (long)LIMIT_POLL_KEEPALIVE_S) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, poller_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, p) != CURLE_OK ||
	    config_apply_tls(cfg, e) == -1 ||
	    netpolicy_apply(p->c->net, e, p->px->poll_url) == -1)
		return -1;
	return 0;
}

/* Sends the next poll; a local failure is treated like a failed poll. */
static void
poller_send(struct poller *p)
{
	struct timeval	 tv;

	if (p->state == POLLER_STOPPED || p->state == POLLER_POLLING)
		return;
	buf_reset(&p->body);
	p->fail[0] = '\0';
	p->errbuf[0] = '\0';
	if ((p->easy = curl_easy_init()) == NULL || poller_setup(p, p->easy)) {
		curl_easy_cleanup(p->easy);
		p->easy = NULL;
		curl_slist_free_all(p->hdrs);
		p->hdrs = NULL;
		poller_backoff(p, 0, "", "cannot set up the poll transfer");
		return;
	}
	poller_set_state(p, POLLER_POLLING);
	clock_gettime(CLOCK_MONOTONIC, &p->sent_at);
	if (curlev_add(p->c->cev, p->easy, poller_done_cb, p) == -1) {
		curl_easy_cleanup(p->easy);
		p->easy = NULL;
		curl_slist_free_all(p->hdrs);
		p->hdrs = NULL;
		poller_set_state(p, POLLER_IDLE);
		poller_backoff(p, 0, "", "cannot start the poll transfer");
		return;
	}
	metric_add(p->c->m.polls, 1);
	metric_add(p->c->m.proxy_polls, 1, p->px->url_log);
	if (!p->up) {
		duration_to_timeval(LIMIT_POLL_MIN_EMPTY_MS, &tv);
		if (evtimer_add(p->timer, &tv) == -1)
			fatal("evtimer_add failed");
	}
}

/* A POST /advertise ended: poll at once if we waited for it. */
static void
poller_advert_done_cb(void *arg, enum advertise_outcome o)
{
	struct poller	*p = arg;

	metric_add(p->c->m.proxy_adverts, 1, p->px->url_log,
	    poller_outcome_names[o]);
	if (p->state != POLLER_ADVERTISING)
		return;		/* a change, sent while a poll was parked */
	poller_set_state(p, POLLER_IDLE);
	if (o == ADVERTISE_FAILED) {
		poller_backoff(p, 0, "", "the advertisement failed (see the "
		    "line above)");
		return;
	}
	p->after_advert = o == ADVERTISE_STORED;
	poller_send(p);
}

struct poller *
poller_new(struct client *c, const struct config_proxy *px)
{
	struct poller	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->c = c;
	p->px = px;
	buf_init(&p->body, LIMIT_MAX_SCRAPE_REQ_BYTES);
	if (advertise_init(&p->adv, c, px, poller_advert_done_cb, p) == -1 ||
	    (p->timer = evtimer_new(c->base, poller_timer_cb, p)) == NULL) {
		poller_free(p);
		return NULL;
	}
	poller_set_up(p, false);
	return p;
}

const struct config_proxy *
poller_proxy(const struct poller *p)
{
	return p->px;
}

bool
poller_up(const struct poller *p)
{
	return p->up;
}

bool
poller_polling(const struct poller *p)
{
	return p->state == POLLER_POLLING;
}

const char *
poller_state_name(const struct poller *p)
{
	return poller_state_names[p->state];
}

const char *
poller_advert_state_name(const struct poller *p)
{
	return advertise_state_names[p->adv.state];
}

const char *
poller_last_error(const struct poller *p, time_t *at)
{
	*at = p->last_err_at;
	return p->last_err_at != 0 ? p->last_err : NULL;
}

void
poller_advert_changed(struct poller *p)
{
	if (p->state == POLLER_STOPPED)
		return;
	if (advertise_changed(&p->adv, poller_client_tag(p)) &&
	    advertise_send(&p->adv) == 0)
		log_info("targets changed, advertising them again", "proxy",
		    p->px->url_log, "tag", p->c->advert.tag);
}

void
poller_start(struct poller *p)
{
	poller_send(p);
}

void
poller_job_done(struct poller *p)
{
	if (p->state == POLLER_FULL &&
	    p->c->njobs < POLLER_MAX_JOBS(p->c))
		poller_send(p);
}

void
poller_stop(struct poller *p)
{
	if (p->state == POLLER_POLLING && p->easy != NULL) {
		curlev_remove(p->c->cev, p->easy);
		curl_easy_cleanup(p->easy);
		p->easy = NULL;
	}
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
	advertise_stop(&p->adv);
	evtimer_del(p->timer);
	poller_set_state(p, POLLER_STOPPED);
}

void
poller_free(struct poller *p)
{
	if (p == NULL)
		return;
	if (p->timer != NULL) {
		poller_stop(p);
		event_free(p->timer);
	}
	advertise_release(&p->adv);
	curl_slist_free_all(p->hdrs);
	buf_release(&p->body);
	free(p);
}
