/*
 * The advertisement exchange with one proxy: the per-proxy state machine
 * (pure; see advertise.h) and the POST <proxy>/advertise transfer, which
 * carries the client's JSON, Pushprox-Fqdn, Pushprox-Targets and the
 * bearer token if any.  curl copies the body when the transfer starts,
 * so the client may replace its advertisement meanwhile; a change during
 * a transfer sends the new one right after it.  Outcomes are logged here
 * (a 404 once per proxy) and handed to the poller, which polls at once
 * or backs off.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "advertise.h"
#include "client.h"
#include "config.h"
#include "curlev.h"
#include "log.h"
#include "netpolicy.h"
#include "pushprox_limits.h"

const char *const advertise_state_names[] = {
	"unknown", "asked", "unsupported", "refused",
};

const char *
advertise_poll_tag(const struct advertise *a, const char *tag)
{
	if (tag == NULL || a->state == ADVERTISE_UNSUPPORTED)
		return NULL;
	if (a->state == ADVERTISE_REFUSED && strcmp(a->refused, tag) == 0)
		return NULL;
	return tag;
}

bool
advertise_asked(struct advertise *a, const char *tag)
{
	if (tag == NULL || a->state == ADVERTISE_UNSUPPORTED)
		return false;
	/* A proxy that refused this tag asks only if we sent it: not so. */
	if (a->state == ADVERTISE_REFUSED && strcmp(a->refused, tag) == 0)
		return false;
	a->state = ADVERTISE_ASKED;
	return true;
}

enum advertise_outcome
advertise_classify(CURLcode res, long status)
{
	if (res != CURLE_OK)
		return ADVERTISE_FAILED;
	if (status >= 200 && status <= 299)
		return ADVERTISE_STORED;
	if (status == 404)
		return ADVERTISE_NOT_FOUND;
	if (status == 400 || status == 413 || status == 415)
		return ADVERTISE_REFUSAL;
	return ADVERTISE_FAILED;
}

void
advertise_apply(struct advertise *a, enum advertise_outcome o,
    const char *tag)
{
	switch (o) {
	case ADVERTISE_STORED:
		if (a->state != ADVERTISE_UNSUPPORTED)
			a->state = ADVERTISE_ASKED;
		break;
	case ADVERTISE_NOT_FOUND:
		a->state = ADVERTISE_UNSUPPORTED;
		break;
	case ADVERTISE_REFUSAL:
		if (a->state == ADVERTISE_UNSUPPORTED)
			break;
		a->state = ADVERTISE_REFUSED;
		snprintf(a->refused, sizeof(a->refused), "%s",
		    tag != NULL ? tag : "");
		break;
	case ADVERTISE_FAILED:
	default:
		break;		/* the proxy will ask again */
	}
}

bool
advertise_changed(struct advertise *a, const char *tag)
{
	if (tag == NULL)
		return false;
	if (a->state == ADVERTISE_REFUSED && strcmp(a->refused, tag) != 0)
		a->state = ADVERTISE_ASKED;
	return a->state == ADVERTISE_ASKED;
}

int
advertise_init(struct advertise *a, struct client *c,
    const struct config_proxy *px, advertise_done_cb done, void *arg)
{
	a->c = c;
	a->px = px;
	a->done = done;
	a->arg = arg;
	buf_init(&a->answer, LIMIT_LOG_ANSWER_BYTES);
	return 0;
}

bool
advertise_busy(const struct advertise *a)
{
	return a->easy != NULL;
}

/* Logs one ended POST /advertise. */
static void
advertise_log(struct advertise *a, enum advertise_outcome o, CURLcode res,
    long status)
{
	char		 st[24];
	const char	*err;

	snprintf(st, sizeof(st), "%ld", status);
	err = a->errbuf[0] != '\0' ? a->errbuf : curl_easy_strerror(res);
	switch (o) {
	case ADVERTISE_STORED:
		log_debug("advertised", "proxy", a->px->url_log, "tag", a->tag);
		break;
	case ADVERTISE_NOT_FOUND:
		if (a->told_unsupported)
			break;
		a->told_unsupported = true;
		log_info("the proxy does not take advertisements (404 on "
		    "/advertise): polling it without Pushprox-Targets",
		    "proxy", a->px->url_log);
		break;
	case ADVERTISE_REFUSAL:
		log_warn("the proxy refused our advertisement; polling it "
		    "without Pushprox-Targets until the targets change",
		    "proxy", a->px->url_log, "tag", a->tag, "status", st,
		    "answer", buf_cstr(&a->answer));
		break;
	case ADVERTISE_FAILED:
	default:
		log_warn("advertise failed", "proxy", a->px->url_log,
		    "url", a->px->advertise_url_log, "status", st, "answer",
		    buf_cstr(&a->answer), "err", res != CURLE_OK ? err :
		    status == 401 || status == 403 ?
		    config_auth_refusal(a->c->cfg, status) :
		    "unexpected status");
		break;
	}
}

static void
advertise_done_curl_cb(CURL *easy, CURLcode res, void *arg)
{
	struct advertise	*a = arg;
	long			 status = 0;
	enum advertise_outcome	 o;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	a->easy = NULL;
	curl_slist_free_all(a->hdrs);
	a->hdrs = NULL;
	o = advertise_classify(res, status);
	advertise_log(a, o, res, status);
	advertise_apply(a, o, a->tag);
	if (a->again && o != ADVERTISE_NOT_FOUND) {
		a->again = false;
		if (advertise_changed(a, a->c->advert.json != NULL ?
		    a->c->advert.tag : NULL) && advertise_send(a) == 0)
			return;		/* done reports the last one */
	}
	a->again = false;
	a->done(a->arg, o);
}

static size_t
advertise_answer_cb(char *data, size_t size, size_t n, void *arg)
{
	struct advertise	*a = arg;
	size_t			 len = size * n, room = a->answer.max -
				    a->answer.len;

	if (buf_append(&a->answer, data, len < room ? len : room) == -1)
		return CURL_WRITEFUNC_ERROR;
	return len;		/* the rest is not needed */
}

/* The request's headers; -1 on ENOMEM (a->hdrs then freed by the caller). */
static int
advertise_headers(struct advertise *a)
{
	char	 tag[sizeof("Pushprox-Targets: ") + ADVERT_MAX_TAG];

	snprintf(tag, sizeof(tag), "Pushprox-Targets: %s", a->tag);
	if ((a->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL ||
	    curl_slist_append(a->hdrs, "Expect:") == NULL ||
	    curl_slist_append(a->hdrs, a->c->fqdn_header) == NULL ||
	    curl_slist_append(a->hdrs, tag) == NULL ||
	    config_append_auth(a->c->cfg, &a->hdrs) == -1)
		return -1;
	return 0;
}

/* Every option of one POST /advertise; -1 if one was refused. */
static int
advertise_setup(struct advertise *a, CURL *e)
{
	const struct client_advert	*adv = &a->c->advert;

	if (curl_easy_setopt(e, CURLOPT_URL, a->px->advertise_url) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)adv->len) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, adv->json) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)LIMIT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)LIMIT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, advertise_answer_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, a) != CURLE_OK ||
	    config_apply_tls(a->c->cfg, e) == -1 ||
	    netpolicy_apply(a->c->net, e, a->px->advertise_url) == -1)
		return -1;
	return 0;
}

int
advertise_send(struct advertise *a)
{
	const struct client_advert	*adv = &a->c->advert;
	const char			*why = NULL;

	if (adv->json == NULL)
		return -1;
	if (a->easy != NULL) {
		a->again = true;
		return 0;
	}
	snprintf(a->tag, sizeof(a->tag), "%s", adv->tag);
	buf_reset(&a->answer);
	a->errbuf[0] = '\0';
	if ((a->easy = curl_easy_init()) == NULL)
		why = "cannot create the transfer (out of memory)";
	else if (advertise_headers(a) == -1 || advertise_setup(a, a->easy) ==
	    -1)
		why = "cannot set up the transfer (a curl option, the headers "
		    "or the TLS files)";
	else if (curlev_add(a->c->cev, a->easy, advertise_done_curl_cb, a) ==
	    -1)
		why = "cannot start the transfer";
	if (why == NULL) {
		log_debug("advertising", "proxy", a->px->url_log, "tag",
		    a->tag);
		return 0;
	}
	curl_easy_cleanup(a->easy);
	a->easy = NULL;
	curl_slist_free_all(a->hdrs);
	a->hdrs = NULL;
	log_warn("advertise failed", "proxy", a->px->url_log, "url",
	    a->px->advertise_url_log, "err", why);
	return -1;
}

void
advertise_stop(struct advertise *a)
{
	if (a->easy != NULL) {
		curlev_remove(a->c->cev, a->easy);
		curl_easy_cleanup(a->easy);
		a->easy = NULL;
	}
	curl_slist_free_all(a->hdrs);
	a->hdrs = NULL;
	a->again = false;
}

void
advertise_release(struct advertise *a)
{
	if (a->c != NULL)
		advertise_stop(a);
	buf_release(&a->answer);
}
