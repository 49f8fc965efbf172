/*
 * The client's status page and the ring of its last scrapes.  Recording
 * copies a few fields of a closing job into the next slot of a fixed
 * ring (no allocation: strings are cut to their fields' sizes at a UTF-8
 * boundary), so it costs nothing that can fail on the scrape path.
 * Rendering builds the whole page into one buffer capped at
 * LIMIT_CLIENT_STATUS_PAGE_MIB; every outside string passes
 * clientstatus_escape (text and attributes alike) and every URL loses its
 * userinfo first.  The page has no script; the CSP names the style block
 * by its SHA-256 and forbids everything else.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "client.h"
#include "clientstatus.h"
#include "config.h"
#include "duration.h"
#include "httpreq.h"
#include "job.h"
#include "labels.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"
#include "targets.h"
#include "version.h"

static const char clientstatus_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;"
    "background:#f5f7fa}"
    "header{background:#24513a;color:#fff;padding:12px 20px;display:flex;"
    "gap:16px;align-items:baseline;flex-wrap:wrap}"
    "header h1{font-size:20px;margin:0}"
    "main{padding:12px 20px}"
    "h2{font-size:16px;margin:18px 0 6px}"
    ".cards{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:8px}"
    ".card{background:#fff;border:1px solid #d5dce4;border-radius:6px;"
    "padding:8px 14px;min-width:110px}"
    ".card b{display:block;font-size:20px}"
    ".card span{color:#5a6878;font-size:12px}"
    "table{border-collapse:collapse;background:#fff;width:100%}"
    "th,td{border-bottom:1px solid #e1e6ec;padding:5px 8px;text-align:left;"
    "vertical-align:top}"
    "th{background:#e9eef4;font-weight:600;white-space:nowrap}"
    "td.num{text-align:right;white-space:nowrap}"
    ".url{word-break:break-all}"
    ".lbl{display:inline-block;background:#eef2f6;border-radius:3px;"
    "padding:0 4px;margin:1px;font-size:12px;word-break:break-all}"
    ".up{color:#2e7d32;font-weight:600}.down{color:#c62828;font-weight:600}"
    ".o-ok{color:#2e7d32}.o-warn{color:#e65100}.o-err{color:#c62828}"
    ".muted{color:#8a96a3}"
    "footer{color:#8a96a3;font-size:12px;padding:12px 20px}";

static const char *const clientstatus_outcome_names[] = {
	[CLIENTSTATUS_OK] = "ok",
	[CLIENTSTATUS_TARGET_STATUS] = "target status",
	[CLIENTSTATUS_FAILED] = "failed",
	[CLIENTSTATUS_CUT] = "cut",
	[CLIENTSTATUS_PUSH_FAILED] = "push failed",
	[CLIENTSTATUS_CANCELLED] = "cancelled",
};

static const char *const clientstatus_outcome_class[] = {
	[CLIENTSTATUS_OK] = "o-ok",
	[CLIENTSTATUS_TARGET_STATUS] = "o-warn",
	[CLIENTSTATUS_FAILED] = "o-err",
	[CLIENTSTATUS_CUT] = "o-err",
	[CLIENTSTATUS_PUSH_FAILED] = "o-err",
	[CLIENTSTATUS_CANCELLED] = "o-warn",
};

static const char *const clientstatus_origin_names[] = {
	[TARGETS_STATIC] = "targets file",
	[TARGETS_SOCKET] = "socket_dirs",
	[TARGETS_INCLUDE] = "include",
};

/* Copies s into dst (size n > 0), cut at a UTF-8 character boundary. */
static void
clientstatus_copy(char *dst, size_t n, const char *s, size_t len)
{
	if (len >= n) {
		len = n - 1;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Where url's authority starts and how long its userinfo@ is (or 0). */
static size_t
clientstatus_userinfo(const char *url, size_t *start)
{
	const char	*p = strstr(url, "://"), *end, *at = NULL;

	*start = 0;
	if (p == NULL)
		return 0;
	p += 3;
	*start = (size_t)(p - url);
	end = p + strcspn(p, "/?#");
	for (; p < end; p++)
		if (*p == '@')
			at = p;
	return at == NULL ? 0 : (size_t)(at + 1 - url) - *start;
}

void
clientstatus_copy_url(char *dst, size_t n, const char *url)
{
	size_t	 start, skip = clientstatus_userinfo(url, &start);
	size_t	 len = strlen(url) - skip;
	char	 tmp[LIMIT_CLIENT_STATUS_FIELD_BYTES];

	if (skip == 0 || start >= sizeof(tmp)) {
		clientstatus_copy(dst, n, url, skip == 0 ? strlen(url) : start);
		return;
	}
	/* scheme:// then what follows the userinfo, cut to the field. */
	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, url, start);
	memcpy(tmp + start, url + start + skip, len - start);
	tmp[len] = '\0';
	clientstatus_copy(dst, n, tmp, len);
}

/* Appends the len bytes at s HTML-escaped; 0 or -1. */
static int
clientstatus_escape_len(struct buf *out, const char *s, size_t len)
{
	const char	*end = s + len;
	int		 rc = 0;
	size_t		 run;

	while (s < end) {
		for (run = 0; s + run < end && memchr("&<>\"'", s[run], 5) ==
		    NULL; run++)
			;
		rc |= buf_append(out, s, run);
		s += run;
		if (s == end)
			break;
		switch (*s) {
		case '&': rc |= buf_puts(out, "&amp;"); break;
		case '<': rc |= buf_puts(out, "&lt;"); break;
		case '>': rc |= buf_puts(out, "&gt;"); break;
		case '"': rc |= buf_puts(out, "&quot;"); break;
		default: rc |= buf_puts(out, "&#39;"); break;
		}
		s++;
	}
	return rc == 0 ? 0 : -1;
}

int
clientstatus_escape(struct buf *out, const char *s)
{
	return clientstatus_escape_len(out, s, strlen(s));
}

/* Appends url escaped and without its userinfo. */
static int
clientstatus_escape_url(struct buf *out, const char *url)
{
	size_t	 start, skip = clientstatus_userinfo(url, &start);

	if (skip == 0)
		return clientstatus_escape(out, url);
	return clientstatus_escape_len(out, url, start) |
	    clientstatus_escape(out, url + start + skip);
}

struct clientstatus *
clientstatus_new(void)
{
	struct clientstatus	*s;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned char		 b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int		 mdlen = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	if (EVP_Digest(clientstatus_style, strlen(clientstatus_style), md,
	    &mdlen, EVP_sha256(), NULL) != 1) {
		free(s);
		return NULL;
	}
	(void)EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(s->csp, sizeof(s->csp), "default-src 'none'; style-src "
	    "'sha256-%s'; form-action 'none'; base-uri 'none'; "
	    "frame-ancestors 'none'", (const char *)b64);
	return s;
}

void
clientstatus_free(struct clientstatus *s)
{
	free(s);
}

void
clientstatus_record(struct clientstatus *s, const struct job *j,
    const char *why)
{
	struct clientstatus_scrape	*e;
	const char			*detail = "";

	if (s == NULL)
		return;
	e = &s->ring[s->next];
	s->next = (s->next + 1) % LIMIT_CLIENT_STATUS_SCRAPES;
	s->recorded++;
	memset(e, 0, sizeof(*e));
	e->at = time(NULL);
	e->ms = job_elapsed_ms(j);
	e->bytes = j->total;
	e->status = j->answered != 0 ? j->answered : (int)j->status;
	if (j->has_tgt) {
		clientstatus_copy(e->name, sizeof(e->name), j->tgt.name,
		    strlen(j->tgt.name));
		clientstatus_copy_url(e->url, sizeof(e->url), j->tgt.url);
	} else
		clientstatus_copy_url(e->url, sizeof(e->url), job_url(j));
	if (j->poller != NULL)
		clientstatus_copy_url(e->proxy, sizeof(e->proxy),
		    poller_proxy(j->poller)->url_log);
	if (j->errors & JOB_ERR_PUSH) {
		e->outcome = CLIENTSTATUS_PUSH_FAILED;
		detail = j->push_err[0] != '\0' ? j->push_err : why;
	} else if (j->answered != 0) {
		e->outcome = CLIENTSTATUS_FAILED;
		detail = buf_cstr(&j->body);
	} else if (j->errors & JOB_ERR_SCRAPE) {
		e->outcome = CLIENTSTATUS_CUT;
		detail = "the target failed while its body was being pushed; "
		    "the push was cut";
	} else if (strcmp(why, "pushed") != 0) {
		e->outcome = CLIENTSTATUS_CANCELLED;
		detail = why;
	} else if (e->status / 100 != 2)
		e->outcome = CLIENTSTATUS_TARGET_STATUS;
	else
		e->outcome = CLIENTSTATUS_OK;
	clientstatus_copy(e->detail, sizeof(e->detail), detail,
	    strcspn(detail, "\n"));
}

/* name="value" chips of ls, or a dash. */
static int
clientstatus_labels(struct buf *out, const struct labels *ls)
{
	int	 rc = 0;

	if (ls == NULL || ls->n == 0)
		return buf_puts(out, "<span class=\"muted\">&ndash;</span>");
	for (size_t i = 0; i < ls->n; i++) {
		rc |= buf_puts(out, "<span class=\"lbl\">");
		rc |= clientstatus_escape(out, ls->v[i].name);
		rc |= buf_puts(out, "=&quot;");
		rc |= clientstatus_escape(out, ls->v[i].value);
		rc |= buf_puts(out, "&quot;</span> ");
	}
	return rc;
}

/* A wall-clock time as "2006-01-02 15:04:05Z". */
static void
clientstatus_time(time_t t, char *out, size_t n)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
}

static int
clientstatus_proxies(struct buf *out, struct client *c)
{
	const char	*err, *url;
	time_t		 at;
	char		 when[32];
	int		 rc = 0;

	rc |= buf_puts(out, "<h2>Proxies</h2>\n<table id=\"proxies\"><thead>"
	    "<tr><th>Proxy</th><th>Up</th><th>Poll</th><th>Polls</th><th>Poll "
	    "errors</th><th>Scrapes</th><th>Push errors</th><th>Advertisement"
	    "</th><th>Last poll error</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < c->npollers; i++) {
		const struct poller	*p = c->pollers[i];
		bool			 up = poller_up(p);

		url = poller_proxy(p)->url_log;
		rc |= buf_puts(out, "<tr><td class=\"url\">");
		rc |= clientstatus_escape_url(out, url);
		rc |= buf_printf(out, "</td><td class=\"%s\">%s</td><td>%s</td>"
		    "<td class=\"num\">%.0f</td><td class=\"num\">%.0f</td>"
		    "<td class=\"num\">%.0f</td><td class=\"num\">%.0f</td>"
		    "<td>%s (stored %.0f)</td><td>", up ? "up" : "down",
		    up ? "up" : "down", poller_state_name(p),
		    metric_value(c->m.proxy_polls, url),
		    metric_value(c->m.proxy_poll_errors, url),
		    metric_value(c->m.proxy_scrapes, url),
		    metric_value(c->m.proxy_push_errors, url),
		    poller_advert_state_name(p),
		    metric_value(c->m.proxy_adverts, url, "stored"));
		if ((err = poller_last_error(p, &at)) != NULL) {
			clientstatus_time(at, when, sizeof(when));
			rc |= buf_printf(out, "%s: ", when);
			rc |= clientstatus_escape(out, err);
		} else
			rc |= buf_puts(out, "<span class=\"muted\">none"
			    "</span>");
		rc |= buf_puts(out, "</td></tr>\n");
	}
	return rc | buf_puts(out, "</tbody></table>\n");
}

static int
clientstatus_targets(struct buf *out, struct client *c)
{
	const struct targets	*ts = c->targets;
	const struct target	*t;
	int			 rc = 0;

	rc |= buf_puts(out, "<h2>Targets</h2>\n<p>Client labels (--label): ");
	rc |= clientstatus_labels(out, &c->cfg->labels);
	rc |= buf_puts(out, "</p>\n");
	if (ts == NULL)
		return rc | buf_puts(out,
		    "<p id=\"no-targets\">No targets file: "
		    "scrapes its own FQDN (the URLs the proxy sends, as the Go "
		    "client does).</p>\n");
	rc |= buf_puts(out, "<p>Targets file <code>");
	rc |= clientstatus_escape(out, ts->path);
	rc |= buf_puts(out, "</code>, its labels (they win a clash): ");
	rc |= clientstatus_labels(out, &ts->labels);
	rc |= buf_printf(out, "</p>\n<table id=\"targets\"><thead><tr><th>Name"
	    "</th><th>URL or socket</th><th>Labels</th><th>From</th></tr>"
	    "</thead><tbody>\n");
	for (size_t i = 0; i < ts->n; i++) {
		t = &ts->v[i];
		rc |= buf_puts(out, "<tr><td>");
		rc |= clientstatus_escape(out, t->name);
		rc |= buf_puts(out, "</td><td class=\"url\">");
		rc |= clientstatus_escape_url(out, t->url);
		if (t->unix_socket != NULL) {
			rc |= buf_puts(out, "<br>over ");
			rc |= clientstatus_escape(out, t->unix_socket);
		}
		rc |= buf_puts(out, "</td><td>");
		rc |= clientstatus_labels(out, &t->labels);
		rc |= buf_printf(out, "</td><td>%s",
		    clientstatus_origin_names[t->origin]);
		if (t->source != NULL) {
			rc |= buf_puts(out, " <span class=\"muted\">");
			rc |= clientstatus_escape(out, t->source);
			rc |= buf_puts(out, "</span>");
		}
		rc |= buf_puts(out, "</td></tr>\n");
	}
	if (ts->n == 0)
		rc |= buf_puts(out,
		    "<tr><td colspan=\"4\" class=\"muted\">none "
		    "now</td></tr>\n");
	return rc | buf_puts(out, "</tbody></table>\n");
}

static int
clientstatus_scrapes(struct buf *out, const struct clientstatus *s)
{
	const struct clientstatus_scrape	*e;
	size_t					 n, i;
	char					 when[32], dur[32], size[32];
	int					 rc = 0;

	n = s->recorded < LIMIT_CLIENT_STATUS_SCRAPES ? (size_t)s->recorded :
	    LIMIT_CLIENT_STATUS_SCRAPES;
	rc |= buf_printf(out, "<h2>Last scrapes</h2>\n<p class=\"muted\">The "
	    "last %zu of %" PRIu64 " since start, newest first.</p>\n<table "
	    "id=\"scrapes\"><thead><tr><th>Ended</th><th>Target</th><th>"
	    "Proxy</th><th>Status</th><th>Bytes</th><th>Duration</th><th>"
	    "Outcome</th></tr></thead><tbody>\n", n, s->recorded);
	for (i = 0; i < n; i++) {
		e = &s->ring[(s->next + LIMIT_CLIENT_STATUS_SCRAPES - 1 - i) %
		    LIMIT_CLIENT_STATUS_SCRAPES];
		clientstatus_time(e->at, when, sizeof(when));
		duration_format(e->ms, dur, sizeof(dur));
		snprintf(size, sizeof(size), "%" PRId64, e->bytes);
		rc |= buf_printf(out, "<tr><td>%s</td><td class=\"url\">",
		    when);
		if (e->name[0] != '\0') {
			rc |= buf_puts(out, "<b>");
			rc |= clientstatus_escape(out, e->name);
			rc |= buf_puts(out, "</b> ");
		}
		rc |= clientstatus_escape(out, e->url);
		rc |= buf_puts(out, "</td><td class=\"url\">");
		rc |= clientstatus_escape(out, e->proxy);
		rc |= buf_printf(out, "</td><td class=\"num\">%d</td><td class="
		    "\"num\">%s</td><td class=\"num\">%s</td><td class=\"%s\">"
		    "%s", e->status, size, dur,
		    clientstatus_outcome_class[e->outcome],
		    clientstatus_outcome_names[e->outcome]);
		if (e->detail[0] != '\0') {
			rc |= buf_puts(out, ": ");
			rc |= clientstatus_escape(out, e->detail);
		}
		rc |= buf_puts(out, "</td></tr>\n");
	}
	if (n == 0)
		rc |= buf_puts(out,
		    "<tr><td colspan=\"7\" class=\"muted\">none "
		    "yet</td></tr>\n");
	return rc | buf_puts(out, "</tbody></table>\n");
}

static int
clientstatus_render(struct buf *out, struct client *c)
{
	const struct clientstatus	*s = c->status;
	struct timespec			 now;
	int64_t				 up_ms;
	char				 up[32];
	int				 rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	up_ms = (int64_t)(now.tv_sec - s->started.tv_sec) * 1000;
	duration_format(up_ms, up, sizeof(up));
	rc |= buf_printf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width="
	    "device-width, initial-scale=1\"><title>pushprox-client ");
	rc |= clientstatus_escape(out, c->cfg->fqdn);
	rc |= buf_printf(out, "</title><style>%s</style></head><body>\n"
	    "<header><h1>pushprox-client</h1><span id=\"fqdn\">",
	    clientstatus_style);
	rc |= clientstatus_escape(out, c->cfg->fqdn);
	rc |= buf_printf(out, "</span><span>version %s</span><span>up %s</span>"
	    "%s</header>\n<main>\n<div class=\"cards\">"
	    "<div class=\"card\"><b>%zu/%zu</b><span>proxies up</span></div>"
	    "<div class=\"card\"><b>%zu</b><span>scrapes in flight</span></div>"
	    "<div class=\"card\"><b>%.0f</b><span>scrapes</span></div>"
	    "<div class=\"card\"><b>%.0f</b><span>scrape errors</span></div>"
	    "<div class=\"card\"><b>%.0f</b><span>push errors</span></div>"
	    "<div class=\"card\"><b>%zu</b><span>targets</span></div></div>\n",
	    PUSHPROX_VERSION, up, c->stopping ? "<span>stopping</span>" : "",
	    client_proxies_up(c), c->npollers, c->njobs,
	    metric_value(c->m.scrapes), metric_value(c->m.scrape_errors),
	    metric_value(c->m.push_errors),
	    c->targets != NULL ? c->targets->n : (size_t)0);
	rc |= clientstatus_proxies(out, c);
	rc |= clientstatus_targets(out, c);
	rc |= clientstatus_scrapes(out, s);
	rc |= buf_puts(out, "</main>\n<footer>Also: <a href=\"/metrics\">"
	    "/metrics</a></footer>\n</body></html>\n");
	return rc == 0 ? 0 : -1;
}

void
clientstatus_reply(struct client *c, struct httpreq *req)
{
	struct buf	 out;

	buf_init(&out, (size_t)LIMIT_CLIENT_STATUS_PAGE_MIB << 20);
	if (c->status == NULL || clientstatus_render(&out, c) == -1) {
		buf_release(&out);
		log_warn("status page failed", "peer", httpreq_peer(req),
		    "reason", "out of memory, or larger than "
		    LIMIT_STR(LIMIT_CLIENT_STATUS_PAGE_MIB) " MiB");
		httpreq_reply_text(req, 503, "pushprox-client: the status page "
		    "cannot be rendered (out of memory, or larger than "
		    LIMIT_STR(LIMIT_CLIENT_STATUS_PAGE_MIB) " MiB)\n");
		return;
	}
	(void)httpreq_add_header(req, "Content-Security-Policy",
	    c->status->csp);
	(void)httpreq_add_header(req, "X-Content-Type-Options", "nosniff");
	(void)httpreq_add_header(req, "Cache-Control", "no-store");
	(void)httpreq_add_header(req, "Referrer-Policy", "no-referrer");
	httpreq_reply(req, 200, "text/html; charset=utf-8", out.data, out.len);
	buf_release(&out);
}
