/*
 * One scrape per struct scrape, moving SCRAPING -> PUSHING -> DONE (a
 * refused request skips SCRAPING).  The target is fetched with curl, the
 * body kept compressed as sent (no CURLOPT_ACCEPT_ENCODING) and capped at
 * --scrape.max-size; only the final response's head is kept (a new status
 * line, after a 100, starts it over).  Redirects are not curl's to follow:
 * the transfer ends at a redirect's head, and scrape_follow vets the
 * Location (--scrape.redirects, --scrape.max-redirects, --scrape.allow)
 * before fetching it as a new transfer, or pushes a 502 naming it.  A
 * head that cannot be relayed well-formed (a status outside 200-599, too
 * many or invalid header fields) is a 502 too; an unprintable or long
 * reason phrase is replaced by the standard one.  The push body is that
 * head, rewritten by httpmsg_write_response_head, followed by the body
 * bytes, streamed to curl by a read callback so the body is never copied.
 * A body larger than SCRAPE_STREAM_WINDOW is not held whole: the push
 * starts while the target is still answering (STREAMING), and the two
 * transfers are coupled through a window of at most that many bytes, each
 * paused when the other falls behind (memory per scrape stays constant
 * whatever the body size).  The pushed body then keeps the target's
 * Content-Length, or is chunk-encoded, so a cut push is seen as truncated
 * by the proxy and never passes for a complete scrape.
 * Every failure on the way becomes a 500 (or 503) push the proxy can show
 * to Prometheus; a target that --scrape.allow does not cover is a 403.
 * The target transfer stops a margin before the scrape timeout (see
 * scrapereq_target_timeout), so that its 500 beats the proxy's deadline.
 * With --scrape.target-host the connection goes there (CURLOPT_CONNECT_TO)
 * while URL, Host header, SNI and certificate check keep the FQDN.
 * scrape_close is the only teardown.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "allow.h"
#include "buf.h"
#include "client.h"
#include "config.h"
#include "curlev.h"
#include "hop.h"
#include "httpmsg.h"
#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"
#include "scrape.h"
#include "scrapereq.h"

#define SCRAPE_MIN_PUSH_TIMEOUT_MS	5000
#define SCRAPE_ANSWER_LOG_BYTES		128
#define SCRAPE_MAX_ERROR_BYTES		4096
#define SCRAPE_EXTRA_HEADERS		3	/* Content-Length, Id, timeout */
#define SCRAPE_STREAM_WINDOW		(256 * 1024)	/* bytes queued at most */
#define SCRAPE_CHUNK_OVERHEAD		20	/* "%zx\r\n" ... "\r\n" */
#define SCRAPE_PUSH_HEAD_SLACK		1024	/* status line, our headers */

enum scrape_state {
	SCRAPE_NEW,
	SCRAPE_SCRAPING,
	SCRAPE_STREAMING,	/* target and push running together */
	SCRAPE_PUSHING,
	SCRAPE_DONE,
};

static const char *const scrape_state_names[] = {
	"new", "scraping", "streaming", "pushing", "done",
};

struct scrape {
	TAILQ_ENTRY(scrape)	 entry;
	struct client		*c;
	enum scrape_state	 state;
	struct scrapereq	*req;
	struct timespec		 start;		/* CLOCK_MONOTONIC */
	CURL			*target;	/* the target transfer */
	CURL			*push;		/* the push transfer */
	struct event		*kick;		/* deferred pause/unpause */
	struct curl_slist	*hdrs;		/* the target transfer's */
	struct curl_slist	*push_hdrs;	/* the push transfer's */
	char			 errbuf[CURL_ERROR_SIZE];
	bool			 admitted;	/* counted in c->ntargets */
	char			*url;		/* the hop being fetched */
	char			*location;	/* the head's Location, or NULL */
	bool			 redirect;	/* a redirect to location */
	int64_t			 hops;		/* redirects followed */
	bool			 cross_origin;	/* a hop left the origin */
	/* The target's answer. */
	struct buf		 head;		/* header lines, final response */
	char			 reason[LIMIT_MAX_REASON_BYTES + 1];
	bool			 body_started;
	const char		*fail;		/* why we aborted the transfer */
	char			 failbuf[128];	/* fail, when formatted */
	struct buf		 body;		/* whole, or the window */
	size_t			 qoff;		/* window: bytes already sent */
	int64_t			 total;		/* body bytes received */
	bool			 target_done;	/* streaming: target ended */
	bool			 target_failed;
	bool			 target_paused;
	bool			 push_paused;
	bool			 chunked;	/* pushed body chunk-encoded */
	bool			 trailer_sent;
	bool			 streaming_push; /* push started STREAMING */
	curl_off_t		 declared;	/* the target's Content-Length */
	/* The push. */
	struct buf		 push_head;
	size_t			 push_off;	/* over push_head, then body */
	struct buf		 answer;	/* first bytes of the proxy's */
};

static void scrape_push(struct scrape *);
static void scrape_target(struct scrape *);

static void
scrape_set_state(struct scrape *s, enum scrape_state st)
{
	log_debug("scrape state", "id", s->req->id,
	    "from", scrape_state_names[s->state], "to", scrape_state_names[st]);
	s->state = st;
}

static const char *
scrape_url(const struct scrape *s)
{
	if (s->req->url != NULL)
		return s->req->url;
	return s->req->target != NULL ? s->req->target : "(unknown)";
}

static int64_t
scrape_elapsed_ms(const struct scrape *s)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - s->start.tv_sec) * 1000 +
	    (now.tv_nsec - s->start.tv_nsec) / 1000000;
}

/* Writes our response head; -1 if a header was invalid or too large. */
static int
scrape_write_head(struct scrape *s, int status, const char *reason,
    struct httpmsg_header *h, size_t n)
{
	char	 clen[32], remain[32];
	int64_t	 left = s->req->timeout_ms - scrape_elapsed_ms(s);

	curl_off_t cl = -1;

	if (s->state == SCRAPE_STREAMING)
		curl_easy_getinfo(s->target, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &cl);
	else
		cl = (curl_off_t)s->body.len;
	s->chunked = cl < 0;
	s->declared = cl;
	snprintf(clen, sizeof(clen), "%" CURL_FORMAT_CURL_OFF_T, cl);
	snprintf(remain, sizeof(remain), "%.3f",
	    (double)(left > 0 ? left : 0) / 1000.0);
	h[n++] = s->chunked ?
	    (struct httpmsg_header){ "Transfer-Encoding", "chunked" } :
	    (struct httpmsg_header){ "Content-Length", clen };
	h[n++] = (struct httpmsg_header){ "Id", s->req->id };
	/* The reference's name for the remaining time, kept for its proxy. */
	h[n++] = (struct httpmsg_header){ "X-Prometheus-Scrape-Timeout",
	    remain };
	buf_reset(&s->push_head);
	return httpmsg_write_response_head(&s->push_head, status,
	    reason[0] != '\0' ? reason : httpmsg_reason_phrase(status), h, n);
}

/* Answers the proxy with status and a text body; counts a scrape error. */
static void
scrape_fail(struct scrape *s, int status, const char *msg)
{
	struct httpmsg_header	 h[1 + SCRAPE_EXTRA_HEADERS];

	log_warn("scrape failed", "id", s->req->id, "url", scrape_url(s),
	    "err", msg);
	metric_add(s->c->m.scrape_errors, 1);
	buf_release(&s->body);
	buf_init(&s->body, SCRAPE_MAX_ERROR_BYTES);
	if (buf_puts(&s->body, msg) == -1 || buf_puts(&s->body, "\n") == -1) {
		/* Out of memory: an empty body still answers the scrape. */
		buf_reset(&s->body);
		if (buf_puts(&s->body, "scrape failed (message too long)\n") ==
		    -1)
			buf_reset(&s->body);
	}
	h[0] = (struct httpmsg_header){ "Content-Type",
	    "text/plain; charset=utf-8" };
	if (scrape_write_head(s, status, "", h, 1) == -1) {
		scrape_close(s, "cannot write the error response");
		return;
	}
	scrape_push(s);
}

/* Whether a header value has a control character other than HTAB. */
static bool
scrape_value_has_ctl(const char *v)
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
scrape_split_head(struct scrape *s, struct httpmsg_header *h, size_t max,
    size_t *n, char *why, size_t whylen)
{
	char	*line, *next, *colon, *v, *end;
	size_t	 i, kept;

	*n = 0;
	for (line = s->head.data; line != NULL && *line != '\0'; line = next) {
		end = line + strcspn(line, "\r\n");
		next = end + strspn(end, "\r\n");
		*end = '\0';
		if (*line == '\0')
			continue;	/* the blank line ending the head */
		if (*line == ' ' || *line == '\t') {
			snprintf(why, whylen, "a folded header line (obs-fold)");
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
		if (scrape_value_has_ctl(v)) {
			snprintf(why, whylen, "the value of header %.64s has "
			    "control characters", line);
			return -1;
		}
		if (*n == max) {
			snprintf(why, whylen, "more than %zu header fields (the "
			    "client's fixed limit)", max);
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

/*
 * Builds the push head from the target's status and head; -1 with why
 * set if they cannot be relayed well-formed (the scrape then fails).
 */
static int
scrape_relay_head(struct scrape *s, long status, char *why, size_t whylen)
{
	struct httpmsg_header	 h[LIMIT_MAX_HEADERS + SCRAPE_EXTRA_HEADERS];
	size_t			 n;

	if (status < 200 || status > 599) {
		/* 1xx are interim (curl reads past them); 600+ do not exist. */
		snprintf(why, whylen, "the target answered with status %ld, "
		    "not a final status in 200-599", status);
		return -1;
	}
	if (scrape_split_head(s, h, LIMIT_MAX_HEADERS, &n, why, whylen) == -1)
		return -1;
	if (scrape_write_head(s, (int)status, s->reason, h, n) == -1) {
		snprintf(why, whylen, "the response head would be larger than "
		    "%d bytes", LIMIT_MAX_HEADER_BYTES + SCRAPE_PUSH_HEAD_SLACK);
		return -1;
	}
	return 0;
}

/* The target answered: push its status, headers and body. */
static void
scrape_target_ok(struct scrape *s, long status)
{
	char	 why[SCRAPE_MAX_ERROR_BYTES / 2];
	char	 msg[SCRAPE_MAX_ERROR_BYTES];

	if (scrape_relay_head(s, status, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: %s",
		    scrape_url(s), why);
		scrape_fail(s, 502, msg);
		return;
	}
	log_debug("scrape done", "id", s->req->id, "url", scrape_url(s));
	scrape_push(s);
}

/*
 * The target answered a redirect (s->location): fetch the next hop if
 * --scrape.redirects, --scrape.max-redirects and --scrape.allow let it,
 * else fail the scrape naming the refused location.
 */
static void
scrape_follow(struct scrape *s)
{
	const struct client_config	*cfg = s->c->cfg;
	struct scrapereq_hop		 hop;
	const char			*why = NULL;
	char				 expl[SCRAPE_MAX_ERROR_BYTES / 4];
	char				 msg[SCRAPE_MAX_ERROR_BYTES];
	char				*loc = s->location;

	s->location = NULL;
	s->redirect = false;
	if (s->hops >= cfg->scrape_max_redirects) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: more than "
		    "%" PRId64 " redirects (--scrape.max-redirects), the last "
		    "to %.1024s", scrape_url(s), cfg->scrape_max_redirects, loc);
		goto fail;
	}
	if (scrapereq_redirect(s->url, loc, cfg->scrape_redirects, &hop,
	    &why) == -1) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: the target "
		    "redirected to %.1024s, not followed: %s", scrape_url(s),
		    loc, why);
		goto fail;
	}
	if (!allow_match(cfg->allow, hop.port, hop.path)) {
		allow_explain(cfg->allow, hop.port, hop.path, expl,
		    sizeof(expl));
		snprintf(msg, sizeof(msg), "scrape of %s failed: the target "
		    "redirected to %.1024s, not followed: %s", scrape_url(s),
		    loc, expl);
		scrapereq_hop_release(&hop);
		goto fail;
	}
	log_debug("following redirect", "id", s->req->id, "from", s->url,
	    "to", hop.url);
	free(loc);
	free(hop.path);
	if (s->url != s->req->url)
		free(s->url);
	s->url = hop.url;
	s->hops++;
	if (!hop.same_origin)
		s->cross_origin = true;
	buf_reset(&s->head);
	buf_reset(&s->body);
	s->reason[0] = '\0';
	s->fail = NULL;
	s->errbuf[0] = '\0';
	scrape_target(s);
	return;
fail:
	free(loc);
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	scrape_fail(s, 502, msg);
}

static void
scrape_target_done_cb(CURL *easy, CURLcode res, void *arg)
{
	struct scrape	*s = arg;
	long		 status = 0;
	char		 msg[SCRAPE_MAX_ERROR_BYTES];

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK)
		snprintf(msg, sizeof(msg), "scrape of %s failed: %s%s%s",
		    scrape_url(s), s->fail != NULL ? s->fail :
		    curl_easy_strerror(res), s->fail == NULL &&
		    s->errbuf[0] != '\0' ? ": " : "",
		    s->fail == NULL ? s->errbuf : "");
	curl_easy_cleanup(easy);
	s->target = NULL;
	if (s->state == SCRAPE_STREAMING) {
		/* The push is under way: it ends, or is cut, with the body. */
		s->target_done = true;
		if (res != CURLE_OK) {
			s->target_failed = true;
			log_warn("scrape failed while streaming", "id",
			    s->req->id, "url", scrape_url(s), "err", msg);
			metric_add(s->c->m.scrape_errors, 1);
		}
		event_active(s->kick, EV_TIMEOUT, 0);
		return;
	}
	if (s->redirect) {
		/* Ended by scrape_head_done once the redirect was known. */
		scrape_follow(s);
		return;
	}
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	if (res != CURLE_OK)
		scrape_fail(s, 500, msg);
	else
		scrape_target_ok(s, status);
}

/*
 * Keeps the reason phrase of a status line (len bytes, not NUL-terminated)
 * if it is short and printable (RFC 9112: HTAB, SP, VCHAR); otherwise
 * none, and the standard phrase of the status is pushed instead.
 */
static void
scrape_keep_reason(struct scrape *s, const char *line, size_t len)
{
	const char	*sp, *r, *e;
	size_t		 rlen, i;

	s->reason[0] = '\0';
	if ((sp = memchr(line, ' ', len)) == NULL ||
	    (r = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line))) == NULL)
		return;
	r++;
	for (e = line + len; e > r && (e[-1] == '\r' || e[-1] == '\n'); e--)
		;
	rlen = (size_t)(e - r);
	if (rlen > LIMIT_MAX_REASON_BYTES)
		return;
	for (i = 0; i < rlen; i++)
		if (((unsigned char)r[i] < 0x20 && r[i] != '\t') ||
		    (unsigned char)r[i] >= 0x7f)
			return;
	memcpy(s->reason, r, rlen);
	s->reason[rlen] = '\0';
}

/*
 * Resolves s->location (the Location header as sent) against the URL
 * fetched, as curl would, into an absolute URL (replacing it).  A value
 * curl cannot resolve is left as it is: scrapereq_redirect refuses it.
 */
static void
scrape_resolve_location(struct scrape *s)
{
	CURLU	*u;
	char	*abs = NULL;

	if ((u = curl_url()) == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, s->url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, s->location, CURLU_URLENCODE |
	    CURLU_ALLOW_SPACE) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK) {
		char *copy = strdup(abs);

		if (copy != NULL) {
			free(s->location);
			s->location = copy;
		}
	}
	curl_free(abs);
	curl_url_cleanup(u);
}

/*
 * At the end of a head: a redirect with a Location ends the transfer
 * here, its body unread, and scrape_follow decides (s->redirect).
 * Returns 0 to go on, -1 to end the transfer.
 */
static int
scrape_head_done(struct scrape *s)
{
	long	 status = 0;

	curl_easy_getinfo(s->target, CURLINFO_RESPONSE_CODE, &status);
	if (!scrapereq_is_redirect(status) || s->location == NULL) {
		free(s->location);
		s->location = NULL;
		return 0;
	}
	scrape_resolve_location(s);
	s->redirect = true;
	return -1;
}

/* Keeps the first Location header's value, for scrape_head_done. */
static int
scrape_keep_location(struct scrape *s, const char *data, size_t len)
{
	const char	*v = data + strlen("Location:"), *e = data + len;

	if (s->location != NULL)
		return 0;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' ||
	    e[-1] == '\t'))
		e--;
	if ((s->location = strndup(v, (size_t)(e - v))) == NULL) {
		s->fail = "out of memory for the Location header";
		return -1;
	}
	return 0;
}

static size_t
scrape_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct scrape	*s = arg;
	size_t		 len = size * n;

	if (s->body_started)
		return len;		/* trailers: not forwarded */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new response (1xx): forget the last one. */
		buf_reset(&s->head);
		free(s->location);
		s->location = NULL;
		scrape_keep_reason(s, data, len);
		return len;
	}
	if (memchr(data, '\0', len) != NULL) {
		s->fail = "a NUL byte in the target's response headers";
		return 0;
	}
	if (buf_append(&s->head, data, len) == -1) {
		snprintf(s->failbuf, sizeof(s->failbuf), "the target's "
		    "response headers are larger than %d bytes (the client's "
		    "fixed limit)", LIMIT_MAX_HEADER_BYTES);
		s->fail = s->failbuf;
		return 0;
	}
	if (len > strlen("Location:") &&
	    strncasecmp(data, "Location:", strlen("Location:")) == 0 &&
	    scrape_keep_location(s, data, len) == -1)
		return 0;
	if ((len == 2 && memcmp(data, "\r\n", 2) == 0) ||
	    (len == 1 && data[0] == '\n'))
		return scrape_head_done(s) == -1 ? 0 : len;
	return len;
}

static size_t
scrape_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct scrape	*s = arg;
	size_t		 len = size * n;
	curl_off_t	 cl = -1;

	if (!s->body_started) {
		/* A declared length over the cap fails before any streaming. */
		curl_easy_getinfo(s->target, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &cl);
		if (cl > (curl_off_t)s->c->cfg->scrape_max_bytes) {
			s->fail = "response body larger than --scrape.max-size "
			    "(by its Content-Length)";
			return CURL_WRITEFUNC_ERROR;
		}
	}
	s->body_started = true;
	if (s->total + (int64_t)len > s->c->cfg->scrape_max_bytes) {
		s->fail = "response body larger than --scrape.max-size";
		return CURL_WRITEFUNC_ERROR;
	}
	if (s->state == SCRAPE_STREAMING) {
		if (s->body.len - s->qoff >= SCRAPE_STREAM_WINDOW) {
			/* The push is behind: curl keeps this data for us. */
			s->target_paused = true;
			return CURL_WRITEFUNC_PAUSE;
		}
		if (s->qoff > 0) {
			memmove(s->body.data, s->body.data + s->qoff,
			    s->body.len - s->qoff);
			s->body.len -= s->qoff;
			s->qoff = 0;
		}
	} else if (s->body.len + len > SCRAPE_STREAM_WINDOW) {
		/* Too large to hold: push while the target still answers. */
		scrape_set_state(s, SCRAPE_STREAMING);
	}
	if (buf_append(&s->body, data, len) == -1) {
		s->fail = "out of memory for the response body";
		return CURL_WRITEFUNC_ERROR;
	}
	s->total += (int64_t)len;
	if (s->state == SCRAPE_STREAMING)
		event_active(s->kick, EV_TIMEOUT, 0);
	return len;
}

/* Options of the target transfer; -1 if curl refused one. */
static int
scrape_target_setup(struct scrape *s, CURL *e)
{
	const struct scrapereq	*r = s->req;
	struct curl_slist	*l;
	struct buf		 line;
	size_t			 i;
	/* Every hop shares the one deadline of the scrape. */
	long			 tmo = (long)(scrapereq_target_timeout(
				    r->timeout_ms) - scrape_elapsed_ms(s));
	int			 rv = 0;

	if (tmo < 1)
		return -1;
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	for (i = 0; i < r->nheaders && rv == 0; i++) {
		/* Credentials are for the scrape's origin only (as curl). */
		if (s->cross_origin &&
		    (strcasecmp(r->headers[i].name, "Authorization") == 0 ||
		    strcasecmp(r->headers[i].name, "Cookie") == 0))
			continue;
		/* "Name;" is curl's way to send a header with no value. */
		buf_init(&line, LIMIT_MAX_HEADER_BYTES);
		if (buf_printf(&line, "%s%s%s", r->headers[i].name,
		    r->headers[i].value[0] != '\0' ? ": " : ";",
		    r->headers[i].value) == -1 ||
		    (l = curl_slist_append(s->hdrs, line.data)) == NULL)
			rv = -1;
		else
			s->hdrs = l;
		buf_release(&line);
	}
	if (rv == -1 ||
	    curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    tmo < LIMIT_CONNECT_TIMEOUT_MS ? tmo : LIMIT_CONNECT_TIMEOUT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf) != CURLE_OK ||
	    /* Redirects are vetted hop by hop: see scrape_follow. */
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, scrape_header_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, scrape_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK)
		return -1;
	/* Borrowed from the config, which outlives every transfer. */
	if (s->c->cfg->connect_to != NULL &&
	    curl_easy_setopt(e, CURLOPT_CONNECT_TO, s->c->cfg->connect_to) !=
	    CURLE_OK)
		return -1;
	return 0;
}

/* Starts fetching the target. */
static void
scrape_target(struct scrape *s)
{
	char	 msg[SCRAPE_MAX_ERROR_BYTES];

	scrape_set_state(s, SCRAPE_SCRAPING);
	if (scrapereq_target_timeout(s->req->timeout_ms) -
	    scrape_elapsed_ms(s) < 1) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: timed out "
		    "after %" PRId64 " redirects", scrape_url(s), s->hops);
		scrape_fail(s, 500, msg);
		return;
	}
	if ((s->target = curl_easy_init()) == NULL ||
	    scrape_target_setup(s, s->target) == -1 ||
	    curlev_add(s->c->cev, s->target, scrape_target_done_cb, s) == -1) {
		curl_easy_cleanup(s->target);
		s->target = NULL;
		snprintf(msg, sizeof(msg), "scrape of %s failed: cannot set up "
		    "the transfer", scrape_url(s));
		scrape_fail(s, 500, msg);
	}
}

/* The streaming push reads the window: pause when it is empty. */
static size_t
scrape_read_window(struct scrape *s, char *dst, size_t want, size_t done)
{
	size_t	 avail = s->body.len - s->qoff, k;
	int	 hl;

	if (done == want)
		return done;
	if (avail == 0) {
		if (s->target_failed)
			return CURL_READFUNC_ABORT;
		if (!s->target_done) {
			if (done > 0)
				return done;
			s->push_paused = true;
			return CURL_READFUNC_PAUSE;
		}
		if (s->chunked && !s->trailer_sent && want - done >= 5) {
			memcpy(dst + done, "0\r\n\r\n", 5);
			s->trailer_sent = true;
			done += 5;
		}
		return done;
	}
	if (s->chunked) {
		if (want - done <= SCRAPE_CHUNK_OVERHEAD)
			return done;
		k = want - done - SCRAPE_CHUNK_OVERHEAD;
		if (k > avail)
			k = avail;
		hl = snprintf(dst + done, SCRAPE_CHUNK_OVERHEAD, "%zx\r\n", k);
		done += (size_t)hl;
		memcpy(dst + done, s->body.data + s->qoff, k);
		memcpy(dst + done + k, "\r\n", 2);
		done += k + 2;
	} else {
		k = want - done < avail ? want - done : avail;
		memcpy(dst + done, s->body.data + s->qoff, k);
		done += k;
	}
	s->qoff += k;
	if (s->target_paused)
		event_active(s->kick, EV_TIMEOUT, 0);
	return done;
}

static size_t
scrape_read_cb(char *dst, size_t size, size_t n, void *arg)
{
	struct scrape	*s = arg;
	size_t		 want = size * n, done = 0, k, hl = s->push_head.len;

	if (s->push_off < hl) {
		k = hl - s->push_off < want ? hl - s->push_off : want;
		memcpy(dst, s->push_head.data + s->push_off, k);
		s->push_off += k;
		done = k;
	}
	if (s->streaming_push)
		return scrape_read_window(s, dst, want, done);
	if (done < want && s->push_off >= hl && s->push_off - hl <
	    s->body.len) {
		k = s->body.len - (s->push_off - hl);
		if (k > want - done)
			k = want - done;
		memcpy(dst + done, s->body.data + (s->push_off - hl), k);
		s->push_off += k;
		done += k;
	}
	return done;
}

/* curl rewinds when it resends on a fresh connection. */
static int
scrape_seek_cb(void *arg, curl_off_t off, int origin)
{
	struct scrape	*s = arg;

	if (origin != SEEK_SET || off < 0 ||
	    (uint64_t)off > s->push_head.len + s->body.len)
		return CURL_SEEKFUNC_FAIL;
	s->push_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t
scrape_answer_cb(char *data, size_t size, size_t n, void *arg)
{
	struct scrape	*s = arg;
	size_t		 len = size * n, room = s->answer.max - s->answer.len;

	if (buf_append(&s->answer, data, len < room ? len : room) == -1)
		return CURL_WRITEFUNC_ERROR;
	return len;		/* the rest is not needed */
}

static void
scrape_push_done_cb(CURL *easy, CURLcode res, void *arg)
{
	struct scrape	*s = arg;
	long		 status = 0;
	char		 st[24];

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK || status < 200 || status > 299) {
		snprintf(st, sizeof(st), "%ld", status);
		log_warn("push failed", "id", s->req->id, "url",
		    s->c->cfg->push_url_log, "status", st, "body",
		    buf_cstr(&s->answer), "err", res != CURLE_OK ?
		    (s->errbuf[0] != '\0' ? s->errbuf :
		    curl_easy_strerror(res)) : status == 401 || status == 403 ?
		    config_auth_refusal(s->c->cfg, status) : "unexpected status");
		metric_add(s->c->m.push_errors, 1);
	}
	curl_easy_cleanup(easy);
	s->push = NULL;
	scrape_close(s, res == CURLE_OK && status / 100 == 2 ? "pushed" :
	    "push failed");
}

/* Options of the push transfer; -1 if curl refused one. */
static int
scrape_push_setup(struct scrape *s, CURL *e)
{
	const struct client_config	*cfg = s->c->cfg;
	long	 tmo = s->req->timeout_ms > SCRAPE_MIN_PUSH_TIMEOUT_MS ?
		    (long)s->req->timeout_ms : SCRAPE_MIN_PUSH_TIMEOUT_MS;

	/* No form Content-Type, no 100-continue round trip. */
	if ((s->push_hdrs = curl_slist_append(NULL, "Content-Type:")) ==
	    NULL || curl_slist_append(s->push_hdrs, "Expect:") == NULL ||
	    config_append_auth(cfg, &s->push_hdrs) == -1)
		return -1;
	/*
	 * A streamed push whose target declared its length has a known length
	 * too; only one of unknown length is sent chunked (curl's default).
	 */
	if (s->streaming_push && !s->chunked &&
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)s->push_head.len + s->declared) != CURLE_OK)
		return -1;
	if (!s->streaming_push &&
	    (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)(s->push_head.len + s->body.len)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, scrape_seek_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SEEKDATA, s) != CURLE_OK))
		return -1;
	if (curl_easy_setopt(e, CURLOPT_URL, cfg->push_url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READFUNCTION, scrape_read_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READDATA, s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->push_hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)LIMIT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, scrape_answer_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    config_apply_tls(cfg, e) == -1)
		return -1;
	return 0;
}

/* Sends push_head and body to the proxy. */
static void
scrape_push(struct scrape *s)
{
	if (s->state != SCRAPE_STREAMING)
		scrape_set_state(s, SCRAPE_PUSHING);
	s->push_off = 0;
	s->errbuf[0] = '\0';
	if ((s->push = curl_easy_init()) == NULL ||
	    scrape_push_setup(s, s->push) == -1 ||
	    curlev_add(s->c->cev, s->push, scrape_push_done_cb, s) == -1) {
		curl_easy_cleanup(s->push);
		s->push = NULL;
		log_warn("push failed", "id", s->req->id, "err",
		    "cannot set up the transfer");
		metric_add(s->c->m.push_errors, 1);
		scrape_close(s, "push setup failed");
	}
}

/*
 * Runs from the loop, never inside a curl callback: starts the streamed
 * push once the window is full, and unpauses whichever transfer was
 * waiting for the other.
 */
static void
scrape_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scrape		*s = arg;
	long			 status = 0;
	char			 why[SCRAPE_MAX_ERROR_BYTES / 2];
	char			 msg[SCRAPE_MAX_ERROR_BYTES];

	if (s->state != SCRAPE_STREAMING)
		return;
	if (s->push == NULL && !s->streaming_push) {
		curl_easy_getinfo(s->target, CURLINFO_RESPONSE_CODE, &status);
		if (scrape_relay_head(s, status, why, sizeof(why)) == -1) {
			/* Nothing pushed yet: report it as a failed scrape. */
			curlev_remove(s->c->cev, s->target);
			curl_easy_cleanup(s->target);
			s->target = NULL;
			scrape_set_state(s, SCRAPE_PUSHING);
			snprintf(msg, sizeof(msg), "scrape of %s failed: %s",
			    scrape_url(s), why);
			scrape_fail(s, 502, msg);
			return;
		}
		s->streaming_push = true;
		log_debug("streaming scrape", "id", s->req->id, "url",
		    scrape_url(s), "chunked", s->chunked ? "yes" : "no");
		scrape_push(s);
		return;
	}
	if (s->push != NULL && s->push_paused &&
	    (s->body.len > s->qoff || s->target_done)) {
		s->push_paused = false;
		curl_easy_pause(s->push, CURLPAUSE_CONT);
	}
	if (s->target != NULL && s->target_paused &&
	    s->body.len - s->qoff < SCRAPE_STREAM_WINDOW) {
		s->target_paused = false;
		curl_easy_pause(s->target, CURLPAUSE_CONT);
	}
}

void
scrape_start(struct client *c, struct scrapereq *req)
{
	struct scrape	*s;
	char		 msg[SCRAPE_MAX_ERROR_BYTES], n[32];
	char		 why[SCRAPE_MAX_ERROR_BYTES / 2];

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("scrape dropped", "id", req->id, "err",
		    "out of memory");
		scrapereq_free(req);
		return;
	}
	s->c = c;
	s->req = req;
	s->url = req->url;
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	buf_init(&s->head, LIMIT_MAX_HEADER_BYTES);
	buf_init(&s->body, (size_t)c->cfg->scrape_max_bytes);
	buf_init(&s->push_head, LIMIT_MAX_HEADER_BYTES + SCRAPE_PUSH_HEAD_SLACK);
	buf_init(&s->answer, SCRAPE_ANSWER_LOG_BYTES);
	if ((s->kick = event_new(c->base, -1, 0, scrape_kick_cb, s)) == NULL) {
		log_warn("scrape dropped", "id", req->id, "err",
		    "out of memory");
		scrapereq_free(req);
		free(s);
		return;
	}
	TAILQ_INSERT_TAIL(&c->scrapes, s, entry);
	c->nscrapes++;
	metric_add(c->m.scrapes, 1);
	log_debug("scrape requested", "id", req->id, "url", scrape_url(s));

	if (req->error != NULL)
		scrape_fail(s, 500, req->error);
	else if (!allow_match(c->cfg->allow, req->port, req->path)) {
		allow_explain(c->cfg->allow, req->port, req->path, why,
		    sizeof(why));
		snprintf(msg, sizeof(msg), "pushprox-client: scrape of %.1024s "
		    "refused: %s", scrape_url(s), why);
		scrape_fail(s, 403, msg);
	} else if (c->ntargets >= (size_t)c->cfg->scrape_max_concurrency) {
		snprintf(n, sizeof(n), "%" PRId64,
		    c->cfg->scrape_max_concurrency);
		snprintf(msg, sizeof(msg), "scrape of %s refused: the client "
		    "already runs %s scrapes (--scrape.max-concurrency)",
		    scrape_url(s), n);
		scrape_fail(s, 503, msg);
	} else {
		s->admitted = true;
		c->ntargets++;
		metric_set(c->m.in_flight, (double)c->ntargets);
		scrape_target(s);
	}
}

void
scrape_close(struct scrape *s, const char *reason)
{
	struct client	*c = s->c;
	char		 ms[32];

	if (s->target != NULL) {
		curlev_remove(c->cev, s->target);
		curl_easy_cleanup(s->target);
	}
	if (s->push != NULL) {
		curlev_remove(c->cev, s->push);
		curl_easy_cleanup(s->push);
	}
	event_free(s->kick);
	curl_slist_free_all(s->push_hdrs);
	curl_slist_free_all(s->hdrs);
	if (s->admitted) {
		c->ntargets--;
		metric_set(c->m.in_flight, (double)c->ntargets);
	}
	scrape_set_state(s, SCRAPE_DONE);
	snprintf(ms, sizeof(ms), "%" PRId64, scrape_elapsed_ms(s));
	log_debug("scrape closed", "id", s->req->id, "reason", reason,
	    "elapsed_ms", ms);
	TAILQ_REMOVE(&c->scrapes, s, entry);
	c->nscrapes--;
	buf_release(&s->head);
	buf_release(&s->body);
	buf_release(&s->push_head);
	buf_release(&s->answer);
	if (s->url != s->req->url)
		free(s->url);
	free(s->location);
	scrapereq_free(s->req);
	free(s);
	client_scrape_gone(c);
	if (!c->stopping && c->poller != NULL)
		poller_scrape_done(c->poller);	/* freed first when stopping */
}
