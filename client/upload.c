/*
 * The push transfer.  The push body is an HTTP response: the target's
 * head, rewritten by httpmsg_write_response_head with only the headers
 * that may cross the hop (hop.c), then the body bytes, streamed to curl
 * by a read callback so that the body is never copied.  A head that
 * cannot be relayed well-formed (a status outside 200-599, too many or
 * invalid header fields) is a 502; an unprintable or long reason phrase
 * is replaced by the standard one.  A streamed body keeps the target's
 * Content-Length, or is chunk-encoded (chunk.c), so that a cut push is
 * seen as truncated by the proxy.  The push goes to the proxy whose poll
 * brought the scrape (j->poller), with Pushprox-Fqdn.  The push's end
 * closes the job.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "client.h"
#include "config.h"
#include "curlev.h"
#include "gzbody.h"
#include "hop.h"
#include "httpmsg.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "netpolicy.h"
#include "poller.h"
#include "scrapereq.h"
#include "upload.h"
#include "window.h"

/* Content-Length, Id, timeout; Content-Encoding and Vary of a gzip push. */
#define UPLOAD_EXTRA_HEADERS	5

/* Writes our response head; -1 if a header was invalid or too large. */
static int
upload_write_head(struct job *j, int status, const char *reason,
    struct httpmsg_header *h, size_t n)
{
	char		 clen[32], remain[32];
	int64_t		 left = j->req->timeout_ms - job_elapsed_ms(j);
	curl_off_t	 cl;

	/* A compressed stream's length is known only at its end. */
	cl = j->gz.on ? -1 : job_streaming(j) ? j->declared :
	    (curl_off_t)j->body.len;
	j->chunk.on = cl < 0;
	j->declared = cl;
	snprintf(clen, sizeof(clen), "%" CURL_FORMAT_CURL_OFF_T, cl);
	snprintf(remain, sizeof(remain), "%.3f",
	    (double)(left > 0 ? left : 0) / 1000.0);
	h[n++] = j->chunk.on ?
	    (struct httpmsg_header){ "Transfer-Encoding", "chunked" } :
	    (struct httpmsg_header){ "Content-Length", clen };
	h[n++] = (struct httpmsg_header){ "Id", j->req->id };
	/* The reference's name for the remaining time, kept for its proxy. */
	h[n++] = (struct httpmsg_header){ "X-Prometheus-Scrape-Timeout",
	    remain };
	buf_reset(&j->push_head);
	return httpmsg_write_response_head(&j->push_head, status,
	    reason[0] != '\0' ? reason : httpmsg_reason_phrase(status), h, n);
}

int
upload_error_head(struct job *j, int status)
{
	struct httpmsg_header	 h[1 + UPLOAD_EXTRA_HEADERS];

	h[0] = (struct httpmsg_header){ "Content-Type",
	    "text/plain; charset=utf-8" };
	return upload_write_head(j, status, "", h, 1);
}

/* Whether a header value has a control character other than HTAB. */
static bool
upload_value_has_ctl(const char *v)
{
	for (; *v != '\0'; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return true;
	return false;
}

/*
 * Splits the kept head lines (in place) into headers to push; or -1 with
 * why set: a head the client cannot relay as the target sent it fails
 * the scrape rather than losing a header silently.
 */
static int
upload_split_head(struct job *j, struct httpmsg_header *h, size_t max,
    size_t *n, char *why, size_t whylen)
{
	char	*line, *next, *colon, *v, *end;
	size_t	 i, kept;

	*n = 0;
	for (line = j->head.data; line != NULL && *line != '\0'; line = next) {
		end = line + strcspn(line, "\r\n");
		next = end + strspn(end, "\r\n");
		*end = '\0';
		if (*line == '\0')
			continue;	/* the blank line ending the head */
		if (*line == ' ' || *line == '\t') {
			snprintf(why, whylen,
			    "a folded header line (obs-fold)");
			return -1;
		}
		if ((colon = strchr(line, ':')) == NULL) {
			snprintf(why, whylen, "a header line without a colon: "
			    "\"%.64s\"", line);
			return -1;
		}
		*colon = '\0';
		v = colon + 1 + strspn(colon + 1, " \t");
		for (char *t = v + strlen(v); t > v && (t[-1] == ' ' ||
		    t[-1] == '\t'); t--)
			t[-1] = '\0';
		if (!httpmsg_header_valid(line, "")) {
			snprintf(why, whylen, "the header name \"%.64s\" is "
			    "invalid", line);
			return -1;
		}
		if (upload_value_has_ctl(v)) {
			snprintf(why, whylen, "the value of header %.64s has "
			    "control characters", line);
			return -1;
		}
		if (*n == max) {
			snprintf(why, whylen, "more than %zu header fields "
			    "(the client's fixed limit)", max);
			return -1;
		}
		h[(*n)++] = (struct httpmsg_header){ line, v };
	}
	/* Filtered once all are known: Connection may come last. */
	for (i = 0, kept = 0; i < *n; i++)
		if (hop_forwards(HOP_TARGET_TO_PUSH, h, *n, h[i].name))
			h[kept++] = h[i];
	*n = kept;
	return 0;
}

/* Whether the scrape (the request the proxy forwarded) accepts gzip. */
static bool
upload_scraper_accepts_gzip(const struct job *j)
{
	size_t	 i;

	for (i = 0; i < j->req->nheaders; i++)
		if (strcasecmp(j->req->headers[i].name,
		    "Accept-Encoding") == 0 &&
		    gzbody_accepts(j->req->headers[i].value))
			return true;
	return false;
}

/*
 * Decides whether the body is pushed gzip-encoded (--push.compression,
 * the scraper accepts it, the target did not encode it, it is not tiny)
 * and sets it up: a held body is compressed now, a streamed one starts
 * its deflate stream.  Anything that fails leaves the body as it is.
 */
static bool
upload_gzip(struct job *j, const struct httpmsg_header *h, size_t n)
{
	const struct client_config	*cfg = j->c->cfg;
	size_t				 i, len;

	if (cfg->push_compression != CONFIG_PUSH_GZIP ||
	    !upload_scraper_accepts_gzip(j))
		return false;
	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, "Content-Encoding") == 0)
			return false;	/* the target's: relayed untouched */
	if (job_streaming(j)) {
		if (gzbody_start(&j->gz, (int)cfg->push_gzip_level) == -1) {
			log_warn("pushing uncompressed", "id", j->req->id,
			    "err", "out of memory for the gzip stream");
			return false;
		}
		return true;
	}
	len = j->body.len;
	if (len < LIMIT_PUSH_GZIP_MIN_BYTES)
		return false;
	if (gzbody_whole(&j->body, (int)cfg->push_gzip_level) == -1) {
		log_warn("pushing uncompressed", "id", j->req->id,
		    "err", "out of memory for the compressed body");
		return false;
	}
	return true;
}

/* Appends Content-Encoding: gzip, and Vary unless the target sent one. */
static void
upload_gzip_headers(struct httpmsg_header *h, size_t *n)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (strcasecmp(h[i].name, "Vary") == 0)
			break;
	h[(*n)++] = (struct httpmsg_header){ "Content-Encoding", "gzip" };
	if (i == *n - 1)
		h[(*n)++] = (struct httpmsg_header){ "Vary",
		    "Accept-Encoding" };
}

/*
 * Builds the push head from the target's status and head; -1 with why
 * set if they cannot be relayed well-formed (the scrape then fails).
 */
static int
upload_relay_head(struct job *j, char *why, size_t whylen)
{
	struct httpmsg_header	 h[LIMIT_MAX_HEADERS + UPLOAD_EXTRA_HEADERS];
	size_t			 n;

	if (j->status < 200 || j->status > 599) {
		/* 1xx are interim (curl reads past them); 600+ do not exist. */
		snprintf(why, whylen, "the target answered with status %ld, "
		    "not a final status in 200-599", j->status);
		return -1;
	}
	if (upload_split_head(j, h, LIMIT_MAX_HEADERS, &n, why, whylen) == -1)
		return -1;
	if (upload_gzip(j, h, n))
		upload_gzip_headers(h, &n);
	if (upload_write_head(j, (int)j->status, j->reason, h, n) == -1) {
		snprintf(why, whylen, "the response head would be larger than "
		    "%zu bytes", j->push_head.max);
		return -1;
	}
	return 0;
}

void
upload_relay(struct job *j)
{
	char	 why[LIMIT_ERROR_BODY_BYTES / 2];
	char	 msg[LIMIT_ERROR_BODY_BYTES];

	if (upload_relay_head(j, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: %s",
		    job_url(j), why);
		job_fail(j, 502, msg);
		return;
	}
	log_debug("scrape done", "id", j->req->id, "url", job_url(j));
	upload_start(j);
}

int
upload_stream(struct job *j, char *why, size_t whylen)
{
	if (upload_relay_head(j, why, whylen) == -1)
		return -1;
	log_debug("streaming scrape", "id", j->req->id, "url", job_url(j),
	    "chunked", j->chunk.on ? "yes" : "no");
	if (j->state == JOB_OPENING)
		job_set_state(j, JOB_STREAMING);
	upload_start(j);
	return 0;
}

static size_t
upload_read_cb(char *dst, size_t size, size_t n, void *arg)
{
	struct job	*j = arg;
	size_t		 want = size * n, done = 0, k, hl = j->push_head.len;

	if (j->push_off < hl) {
		k = hl - j->push_off < want ? hl - j->push_off : want;
		memcpy(dst, j->push_head.data + j->push_off, k);
		j->push_off += k;
		done = k;
	}
	if (job_streaming(j))
		return window_read(j, dst, want, done);
	if (done < want && j->push_off >= hl && j->push_off - hl <
	    j->body.len) {
		k = j->body.len - (j->push_off - hl);
		if (k > want - done)
			k = want - done;
		memcpy(dst + done, j->body.data + (j->push_off - hl), k);
		j->push_off += k;
		done += k;
	}
	return done;
}

/* curl rewinds when it resends on a fresh connection (whole bodies). */
static int
upload_seek_cb(void *arg, curl_off_t off, int origin)
{
	struct job	*j = arg;

	if (origin != SEEK_SET || off < 0 ||
	    (uint64_t)off > j->push_head.len + j->body.len)
		return CURL_SEEKFUNC_FAIL;
	j->push_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t
upload_answer_cb(char *data, size_t size, size_t n, void *arg)
{
	struct job	*j = arg;
	size_t		 len = size * n, room = j->answer.max - j->answer.len;

	if (buf_append(&j->answer, data, len < room ? len : room) == -1)
		return CURL_WRITEFUNC_ERROR;
	return len;		/* the rest is not needed */
}

/* The proxy the push goes to: the one whose poll brought the scrape. */
static const struct config_proxy *
upload_proxy(const struct job *j)
{
	return poller_proxy(j->poller);
}

static void
upload_done_cb(CURL *easy, CURLcode res, void *arg)
{
	struct job	*j = arg;
	long		 status = 0;
	char		 st[24];

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK || status < 200 || status > 299) {
		snprintf(st, sizeof(st), "%ld", status);
		metric_add(j->c->m.proxy_push_errors, 1,
		    upload_proxy(j)->url_log);
		log_warn("push failed", "id", j->req->id, "url",
		    upload_proxy(j)->push_url_log, "status", st, "body",
		    buf_cstr(&j->answer), "err", res != CURLE_OK ?
		    (j->push_err[0] != '\0' ? j->push_err :
		    curl_easy_strerror(res)) : status == 401 || status == 403 ?
		    config_auth_refusal(j->c->cfg, status) :
		    "unexpected status");
		j->errors |= JOB_ERR_PUSH;
	}
	curl_easy_cleanup(easy);
	j->push = NULL;
	job_close(j, res == CURLE_OK && status / 100 == 2 ? "pushed" :
	    "push failed");
}

/* Options of the push transfer; -1 if curl refused one. */
static int
upload_setup(struct job *j, CURL *e)
{
	const struct client_config	*cfg = j->c->cfg;
	long	 tmo = j->req->timeout_ms > LIMIT_MIN_PUSH_TIMEOUT_MS ?
		    (long)j->req->timeout_ms : LIMIT_MIN_PUSH_TIMEOUT_MS;
	bool	 streamed = job_streaming(j);

	/* No form Content-Type, no 100-continue round trip. */
	if ((j->push_hdrs = curl_slist_append(NULL, "Content-Type:")) ==
	    NULL || curl_slist_append(j->push_hdrs, "Expect:") == NULL ||
	    curl_slist_append(j->push_hdrs, j->c->fqdn_header) == NULL ||
	    config_append_auth(cfg, &j->push_hdrs) == -1)
		return -1;
	/*
	 * A streamed push whose target declared its length has a known length
	 * too; only one of unknown length is sent chunked (curl's default).
	 */
	if (streamed && !j->chunk.on &&
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)j->push_head.len + j->declared) != CURLE_OK)
		return -1;
	if (!streamed &&
	    (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)(j->push_head.len + j->body.len)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, upload_seek_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SEEKDATA, j) != CURLE_OK))
		return -1;
	if (curl_easy_setopt(e, CURLOPT_URL, upload_proxy(j)->push_url) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READFUNCTION, upload_read_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READDATA, j) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->push_hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)LIMIT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->push_err) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upload_answer_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, j) != CURLE_OK ||
	    config_apply_tls(cfg, e) == -1 ||
	    netpolicy_apply(j->c->net, e, upload_proxy(j)->push_url) == -1)
		return -1;
	return 0;
}

void
upload_start(struct job *j)
{
	const char	*why = NULL;

	if (!job_streaming(j))
		job_set_state(j, JOB_PUSHING);
	j->push_off = 0;
	j->push_err[0] = '\0';
	if ((j->push = curl_easy_init()) == NULL)
		why = "cannot create the transfer (curl_easy_init, out of "
		    "memory)";
	else if (upload_setup(j, j->push) == -1)
		why = "cannot set up the transfer (a curl option, the headers "
		    "or the TLS files)";
	else if (curlev_add(j->c->cev, j->push, upload_done_cb, j) == -1)
		why = "cannot start the transfer";
	if (why == NULL)
		return;
	curl_easy_cleanup(j->push);
	j->push = NULL;
	metric_add(j->c->m.proxy_push_errors, 1, upload_proxy(j)->url_log);
	log_warn("push failed", "id", j->req->id, "url",
	    upload_proxy(j)->push_url_log, "err", why);
	j->errors |= JOB_ERR_PUSH;
	job_close(j, "push setup failed");
}
