/*
 * The status page.  One request renders one page: a summary of the
 * proxy (version, state, capacity, totals), a form that filters clients
 * on the server (?q=, a substring of the FQDN, an address, a label or a
 * target name, case-insensitive) and pages them (?page=N,
 * LIMIT_STATUS_PAGE_ROWS a page), the clients of that page with what the
 * registry knows (registry_snapshot) and what stats.c counted, and the
 * flags.  Every string that reaches the page passes status_escape, in
 * text and in attributes alike; the small script only filters the rows
 * already on the page and is allowed by its SHA-256 in the CSP, which
 * forbids everything else (no inline handlers, no other origin).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "advert.h"
#include "buf.h"
#include "bytesize.h"
#include "config.h"
#include "duration.h"
#include "flags.h"
#include "httpreq.h"
#include "httpserver.h"
#include "labels.h"
#include "log.h"
#include "proxy.h"
#include "pushprox_limits.h"
#include "registry.h"
#include "stats.h"
#include "status.h"
#include "version.h"

static const char status_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;"
    "background:#f5f7fa}"
    "header{background:#1d3b5c;color:#fff;padding:12px 20px;display:flex;"
    "gap:16px;align-items:baseline;flex-wrap:wrap}"
    "header h1{font-size:20px;margin:0}"
    ".state{padding:2px 8px;border-radius:4px;font-weight:600}"
    ".ready{background:#2e7d32}.draining{background:#c62828}"
    "main{padding:12px 20px}"
    ".cards{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:12px}"
    ".card{background:#fff;border:1px solid #d5dce4;border-radius:6px;"
    "padding:8px 14px;min-width:110px}"
    ".card b{display:block;font-size:20px}"
    ".card span{color:#5a6878;font-size:12px}"
    "form{margin:8px 0;display:flex;gap:8px;align-items:center;"
    "flex-wrap:wrap}"
    "input[type=search]{padding:5px 8px;width:320px;border:1px solid "
    "#aab6c3;border-radius:4px}"
    "table{border-collapse:collapse;background:#fff;width:100%}"
    "th,td{border-bottom:1px solid #e1e6ec;padding:5px 8px;text-align:left;"
    "vertical-align:top}"
    "th{background:#e9eef4;font-weight:600;white-space:nowrap}"
    "td.num{text-align:right;white-space:nowrap}"
    ".fqdn{font-weight:600;word-break:break-all}"
    ".lbl{display:inline-block;background:#eef2f6;border-radius:3px;"
    "padding:0 4px;margin:1px;font-size:12px;word-break:break-all}"
    ".tgt{display:inline-block;background:#e3f0e6;border-radius:3px;"
    "padding:0 4px;margin:1px;font-size:12px}"
    ".o{display:inline-block;width:10px;height:14px;margin-right:2px;"
    "border-radius:2px}"
    ".o-ok{background:#43a047}.o-timeout{background:#fb8c00}"
    ".o-error{background:#e53935}"
    ".open{color:#2e7d32;font-weight:600}.closed{color:#8a96a3}"
    ".muted{color:#8a96a3}"
    "nav{margin:10px 0;display:flex;gap:12px}"
    "details{margin-top:16px}"
    "footer{color:#8a96a3;font-size:12px;padding:12px 20px}";

static const char status_script[] =
    "(function(){var q=document.getElementById('q');"
    "var rows=document.querySelectorAll('#clients tbody tr');"
    "q.addEventListener('input',function(){"
    "var v=q.value.toLowerCase();"
    "rows.forEach(function(r){"
    "r.hidden=v!==''&&r.getAttribute('data-search').indexOf(v)<0;});"
    "});})();";

int
status_escape(struct buf *out, const char *s)
{
	int rc = 0;
	size_t run;

	while (*s != '\0') {
		run = strcspn(s, "&<>\"'");
		rc |= buf_append(out, s, run);
		s += run;
		switch (*s) {
		case '&': rc |= buf_puts(out, "&amp;"); break;
		case '<': rc |= buf_puts(out, "&lt;"); break;
		case '>': rc |= buf_puts(out, "&gt;"); break;
		case '"': rc |= buf_puts(out, "&quot;"); break;
		case '\'': rc |= buf_puts(out, "&#39;"); break;
		default: continue;	/* the end */
		}
		s++;
	}
	return rc == 0 ? 0 : -1;
}

static int
status_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void
status_parse_query(const char *target, struct status_query *sq)
{
	const char *p = strchr(target, '?'), *v, *end;
	size_t n, klen;
	int hi, lo;
	unsigned long long page;

	sq->page = 1;
	sq->q[0] = '\0';
	if (p == NULL)
		return;
	for (p++; *p != '\0'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		v = memchr(p, '=', (size_t)(end - p));
		klen = (size_t)((v != NULL ? v : end) - p);
		v = v != NULL ? v + 1 : end;
		if (klen == 4 && strncmp(p, "page", 4) == 0) {
			for (page = 0; v < end && isdigit((unsigned char)*v);
			    v++)
				if (page < 1000000000ULL)
					page = page * 10 + (unsigned)(*v - '0');
			sq->page = page == 0 ? 1 : (size_t)page;
		} else if (klen == 1 && *p == 'q') {
			for (n = 0; v < end && n < LIMIT_STATUS_QUERY_BYTES;
			    v++) {
				char c = *v;

				if (c == '+')
					c = ' ';
				else if (c == '%' && end - v >= 3 &&
				    (hi = status_hexval(v[1])) >= 0 &&
				    (lo = status_hexval(v[2])) >= 0) {
					c = (char)(hi * 16 + lo);
					v += 2;
				}
				if (c != '\0')
					sq->q[n++] = c;
			}
			sq->q[n] = '\0';
		}
		if (*end == '\0')
			break;
	}
}

/* Appends s percent-encoded for a query value. */
static int
status_urlencode(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || strchr("-._~", c) != NULL)
			rc |= buf_append(out, s, 1);
		else
			rc |= buf_printf(out, "%%%02X", c);
	}
	return rc;
}

/* Case-insensitive substring test; an empty needle matches. */
static bool
status_contains(const char *hay, const char *needle)
{
	size_t i, n = strlen(needle);

	if (n == 0)
		return true;
	for (; *hay != '\0'; hay++) {
		for (i = 0; i < n && hay[i] != '\0' &&
		    tolower((unsigned char)hay[i]) ==
		    tolower((unsigned char)needle[i]); i++)
			;
		if (i == n)
			return true;
	}
	return false;
}

/* Whether a client matches the filter: FQDN, address, labels, targets. */
static bool
status_match(const struct registry_entry *e, const char *q)
{
	const struct advert *a = e->advert;
	size_t i, j;

	if (status_contains(e->fqdn, q) ||
	    (e->address != NULL && status_contains(e->address, q)))
		return true;
	if (a == NULL)
		return false;
	for (i = 0; i < a->labels.n; i++)
		if (status_contains(a->labels.v[i].name, q) ||
		    status_contains(a->labels.v[i].value, q))
			return true;
	for (i = 0; i < a->ntargets; i++) {
		if (status_contains(a->targets[i].name, q))
			return true;
		for (j = 0; j < a->targets[i].labels.n; j++)
			if (status_contains(a->targets[i].labels.v[j].value, q))
				return true;
	}
	return false;
}

/* The CSP source for a script or style: 'sha256-BASE64'. */
static void
status_csp_hash(const char *text, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3)
	    + 1];
	unsigned int mdlen = 0;

	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) !=
	    1) {
		snprintf(out, outlen, "'none'");
		return;
	}
	(void)EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(out, outlen, "'sha256-%s'", (const char *)b64);
}

static int
status_age(struct buf *out, int64_t ms)
{
	char d[32];

	if (ms < 0)
		ms = 0;
	duration_format(ms - ms % 1000, d, sizeof(d));
	return buf_printf(out, "%s ago", ms < 1000 ? "0s" : d);
}

static const char *
status_outcome_class(unsigned k)
{
	const char *name = stats_outcome_names[k];

	if (strcmp(name, "relayed") == 0)
		return "o-ok";
	if (strstr(name, "timeout") != NULL)
		return "o-timeout";
	return "o-error";
}

/* The recent outcomes, oldest first, as small coloured marks. */
static int
status_recent(struct buf *out, const struct stats_client *c, int64_t now)
{
	const struct stats_recent *r;
	size_t i, at;
	char sz[32];
	int rc = 0;

	if (c == NULL || c->nrecent == 0)
		return buf_puts(out, "<span class=\"muted\">none yet</span>");
	for (i = 0; i < c->nrecent; i++) {
		at = (c->next + LIMIT_STATS_RECENT - c->nrecent + i) %
		    LIMIT_STATS_RECENT;
		r = &c->recent[at];
		bytesize_format((int64_t)r->bytes, sz, sizeof(sz));
		rc |= buf_printf(out,
		    "<span class=\"o %s\" title=\"%s, %lld ms, "
		    "%s, ", status_outcome_class(r->outcome),
		    stats_outcome_names[r->outcome], (long long)r->latency_ms,
		    sz);
		rc |= status_age(out, now - r->at_ms);
		rc |= buf_printf(out, "\" data-outcome=\"%s\"></span>",
		    stats_outcome_names[r->outcome]);
	}
	return rc;
}

static int
status_client_row(struct buf *out, struct proxy *px,
    const struct registry_entry *e, int64_t now)
{
	const struct stats_client *c = stats_client(px->stats, e->fqdn);
	const struct advert *a = e->advert;
	uint64_t ok = 0, failed = 0, count = 0;
	char sz[32];
	size_t i, k;
	int rc = 0;

	/* data-search: what the script filters on, lower-cased, escaped. */
	rc |= buf_puts(out, "<tr data-search=\"");
	{
		struct buf s;

		buf_init(&s, LIMIT_STATUS_PAGE_MIB << 20);
		rc |= buf_puts(&s, e->fqdn);
		if (e->address != NULL)
			rc |= buf_printf(&s, " %s", e->address);
		for (i = 0; a != NULL && i < a->labels.n; i++)
			rc |= buf_printf(&s, " %s=%s", a->labels.v[i].name,
			    a->labels.v[i].value);
		for (i = 0; a != NULL && i < a->ntargets; i++)
			rc |= buf_printf(&s, " %s", a->targets[i].name);
		for (i = 0; i < s.len; i++)
			s.data[i] = (char)tolower((unsigned char)s.data[i]);
		rc |= status_escape(out, buf_cstr(&s));
		buf_release(&s);
	}
	rc |= buf_puts(out, "\"><td class=\"fqdn\">");
	rc |= status_escape(out, e->fqdn);
	rc |= buf_puts(out, "</td><td>");
	if (e->address != NULL)
		rc |= status_escape(out, e->address);
	rc |= buf_puts(out, "</td><td class=\"num\">");
	rc |= status_age(out, now - e->last_seen_ms);
	rc |= buf_printf(out, "</td><td>%s</td><td class=\"num\">%zu</td><td>",
	    e->poll_open ? "<span class=\"open\">open</span>" :
	    "<span class=\"closed\">none</span>",
	    c != NULL ? c->in_flight : (size_t)0);
	if (a == NULL || a->ntargets == 0)
		rc |= buf_puts(out, "<span class=\"muted\">none advertised"
		    "</span>");
	for (i = 0; a != NULL && i < a->ntargets; i++) {
		rc |= buf_puts(out, "<span class=\"tgt\">");
		rc |= status_escape(out, a->targets[i].name);
		rc |= buf_puts(out, "</span>");
	}
	rc |= buf_puts(out, "</td><td>");
	for (i = 0; a != NULL && i < a->labels.n; i++) {
		rc |= buf_puts(out, "<span class=\"lbl\">");
		rc |= status_escape(out, a->labels.v[i].name);
		rc |= buf_puts(out, "=");
		rc |= status_escape(out, a->labels.v[i].value);
		rc |= buf_puts(out, "</span>");
	}
	if (a != NULL && a->client_version[0] != '\0') {
		rc |= buf_puts(out, "<span class=\"lbl\">version ");
		rc |= status_escape(out, a->client_version);
		rc |= buf_puts(out, "</span>");
	}
	rc |= buf_puts(out, "</td><td>");
	rc |= status_recent(out, c, now);
	if (c != NULL)
		for (k = 0; k <= STATS_OUTCOMES; k++) {
			count += c->by_outcome[k];
			if (k == 0)
				ok += c->by_outcome[k];
			else
				failed += c->by_outcome[k];
		}
	bytesize_format(c != NULL ? (int64_t)c->bytes : 0, sz, sizeof(sz));
	rc |= buf_printf(out, "</td><td class=\"num\">%llu / %llu</td>"
	    "<td class=\"num\">%s</td><td class=\"num\">", (unsigned long long)
	    ok, (unsigned long long)failed, sz);
	if (count > 0)
		rc |= buf_printf(out, "%.1f ms", c->latency_sum_s * 1000.0 /
		    (double)count);
	else
		rc |= buf_puts(out, "<span class=\"muted\">-</span>");
	rc |= buf_puts(out, "</td></tr>\n");
	return rc;
}

static int
status_card(struct buf *out, const char *label, unsigned long long v)
{
	return buf_printf(out, "<div class=\"card\"><b>%llu</b><span>%s"
	    "</span></div>", v, label);
}

static int
status_flag_value(struct buf *out, const struct flag_def *f,
    const struct proxy_config *cfg)
{
	const char *base = (const char *)cfg;
	char v[64];

	switch (f->type) {
	case FLAG_STRING: {
		const char *s = *(char *const *)(const void *)(base +
		    f->offset);

		return status_escape(out, s != NULL ? s : "");
	}
	case FLAG_BOOL:
		return buf_puts(out, *(const bool *)(const void *)(base +
		    f->offset) ? "true" : "false");
	case FLAG_INT:
		return buf_printf(out, "%lld", (long long)*(const int64_t *)
		    (const void *)(base + f->offset));
	case FLAG_DURATION:
		duration_format(*(const int64_t *)(const void *)(base +
		    f->offset), v, sizeof(v));
		return status_escape(out, v);
	case FLAG_BYTES:
		bytesize_format(*(const int64_t *)(const void *)(base +
		    f->offset), v, sizeof(v));
		return status_escape(out, v);
	case FLAG_ENUM:
		return status_escape(out,
		    f->choices[*(const int *)(const void *)(base + f->offset)]);
	case FLAG_STRINGS: {
		const struct flag_strings *fs = (const void *)(base +
		    f->offset);
		size_t i;
		int rc = 0;

		for (i = 0; i < fs->n; i++) {
			rc |= i > 0 ? buf_puts(out, ", ") : 0;
			rc |= status_escape(out, fs->v[i]);
		}
		return rc;
	}
	}
	return 0;
}

/* A link to page n of the same filter. */
static int
status_page_link(struct buf *out, const struct status_query *sq, size_t n,
    const char *text)
{
	int rc = buf_printf(out, "<a href=\"/?page=%zu", n);

	if (sq->q[0] != '\0') {
		rc |= buf_puts(out, "&amp;q=");
		rc |= status_urlencode(out, sq->q);
	}
	rc |= buf_printf(out, "\">%s</a>", text);
	return rc;
}

static int
status_render(struct buf *out, struct proxy *px, const struct status_query *sq,
    const struct registry_entry *v, size_t n, char *csp, size_t csplen)
{
	const struct flag_def *flags;
	const struct registry_entry **shown = NULL;
	size_t i, nflags, nmatch = 0, pages, first, last;
	int64_t now = proxy_now_ms(px);
	char up[32], hs[128], hc[128];
	int rc = 0;

	if (n > 0 && (shown = calloc(n, sizeof(*shown))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (status_match(&v[i], sq->q))
			shown[nmatch++] = &v[i];
	pages = nmatch == 0 ? 1 : (nmatch + LIMIT_STATUS_PAGE_ROWS - 1) /
	    LIMIT_STATUS_PAGE_ROWS;
	first = (sq->page > pages ? pages : sq->page) - 1;
	first *= LIMIT_STATUS_PAGE_ROWS;
	last = first + LIMIT_STATUS_PAGE_ROWS < nmatch ? first +
	    LIMIT_STATUS_PAGE_ROWS : nmatch;
	status_csp_hash(status_script, hs, sizeof(hs));
	status_csp_hash(status_style, hc, sizeof(hc));
	snprintf(csp, csplen, "default-src 'none'; script-src %s; style-src "
	    "%s; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	    hs, hc);
	duration_format(now - px->started_ms - (now - px->started_ms) % 1000,
	    up, sizeof(up));
	rc |= buf_printf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width="
	    "device-width, initial-scale=1\"><title>pushprox-proxy</title>"
	    "<style>%s</style></head><body>\n<header><h1>pushprox-proxy</h1>"
	    "<span>version %s</span><span>up %s</span><span class=\"state "
	    "%s\" id=\"state\">%s</span></header>\n<main>\n<div class=\""
	    "cards\">", status_style, PUSHPROX_VERSION, (now - px->started_ms)
	    < 1000 ? "0s" : up, px->draining ? "draining" : "ready",
	    px->draining ? "draining" : "ready");
	rc |= status_card(out, "clients",
	    (unsigned long long)registry_clients(px->registry));
	rc |= status_card(out, "polls open",
	    (unsigned long long)registry_polls_waiting(px->registry));
	rc |= status_card(out, "scrapes in flight",
	    (unsigned long long)px->scrapes_active);
	rc |= status_card(out, "scrapes waiting for a poll",
	    (unsigned long long)registry_scrapes_waiting(px->registry));
	rc |= status_card(out, "connections",
	    (unsigned long long)httpserver_connections(px->server));
	rc |= status_card(out, "client capacity",
	    (unsigned long long)px->client_capacity);
	rc |= buf_puts(out, "</div>\n<form method=\"get\" action=\"/\">"
	    "<input type=\"search\" id=\"q\" name=\"q\" placeholder=\"Filter: "
	    "FQDN, address, label or target\" value=\"");
	rc |= status_escape(out, sq->q);
	rc |= buf_printf(out, "\"><button type=\"submit\">Search all</button>"
	    "<span id=\"count\">%zu&ndash;%zu of %zu clients", nmatch == 0 ?
	    0 : first + 1, last, nmatch);
	if (sq->q[0] != '\0')
		rc |= buf_printf(out, " matching (of %zu live)", n);
	rc |= buf_puts(out, "</span></form>\n<table id=\"clients\"><thead><tr>"
	    "<th>Client (FQDN)</th><th>Address</th><th>Last seen</th>"
	    "<th>Poll</th><th>In flight</th><th>Targets</th><th>Labels</th>"
	    "<th>Recent scrapes</th><th>OK / failed</th><th>Relayed</th>"
	    "<th>Mean latency</th></tr></thead><tbody>\n");
	for (i = first; i < last; i++)
		rc |= status_client_row(out, px, shown[i], now);
	if (nmatch == 0)
		rc |= buf_puts(out, "<tr data-search=\"\"><td colspan=\"11\" "
		    "class=\"muted\">No client matches.</td></tr>\n");
	rc |= buf_puts(out, "</tbody></table>\n<nav>");
	if (first > 0)
		rc |= status_page_link(out, sq, first / LIMIT_STATUS_PAGE_ROWS,
		    "&laquo; previous");
	rc |= buf_printf(out, "<span>page %zu of %zu</span>",
	    first / LIMIT_STATUS_PAGE_ROWS + 1, pages);
	if (last < nmatch)
		rc |= status_page_link(out, sq, first / LIMIT_STATUS_PAGE_ROWS +
		    2, "next &raquo;");
	rc |= buf_puts(out, "</nav>\n<details><summary>Flags</summary><table>"
	    "<thead><tr><th>Flag</th><th>Value</th></tr></thead><tbody>\n");
	flags = proxy_config_flags(&nflags);
	for (i = 0; i < nflags; i++) {
		rc |= buf_printf(out, "<tr><td>--%s</td><td>", flags[i].name);
		rc |= status_flag_value(out, &flags[i], px->cfg);
		rc |= buf_puts(out, "</td></tr>\n");
	}
	rc |= buf_printf(out, "</tbody></table></details>\n</main>\n<footer>"
	    "Also: <a href=\"/metrics\">/metrics</a> &middot; <a href=\""
	    "/clients\">/clients</a> &middot; <a href=\"/-/ready\">/-/ready"
	    "</a></footer>\n<script>%s</script>\n</body></html>\n",
	    status_script);
	free(shown);
	return rc == 0 ? 0 : -1;
}

void
status_reply(struct proxy *px, struct httpreq *req)
{
	struct status_query sq;
	struct registry_entry *v;
	struct buf out;
	size_t n = 0;
	char csp[1024];

	status_parse_query(httpreq_target(req), &sq);
	if ((v = registry_snapshot(px->registry, proxy_now_ms(px), &n)) ==
	    NULL) {
		log_warn("status page refused", "peer", httpreq_peer(req),
		    "reason", "out of memory for the client list");
		httpreq_reply_text(req, 503, "pushprox: out of memory");
		return;
	}
	buf_init(&out, (size_t)LIMIT_STATUS_PAGE_MIB << 20);
	if (status_render(&out, px, &sq, v, n, csp, sizeof(csp)) == -1) {
		free(v);
		buf_release(&out);
		log_warn("status page failed", "peer", httpreq_peer(req),
		    "reason", "out of memory, or larger than "
		    LIMIT_STR(LIMIT_STATUS_PAGE_MIB) " MiB");
		httpreq_reply_text(req, 503, "pushprox: the status page cannot "
		    "be rendered (out of memory, or larger than "
		    LIMIT_STR(LIMIT_STATUS_PAGE_MIB) " MiB)");
		return;
	}
	free(v);
	(void)httpreq_add_header(req, "Content-Security-Policy", csp);
	(void)httpreq_add_header(req, "X-Content-Type-Options", "nosniff");
	(void)httpreq_add_header(req, "Cache-Control", "no-store");
	(void)httpreq_add_header(req, "Referrer-Policy", "no-referrer");
	httpreq_reply(req, 200, "text/html; charset=utf-8", out.data, out.len);
	buf_release(&out);
}
