/*
 * Poll answer -> struct scrapereq.  The body must be one complete HTTP/1.1
 * request (common/httpmsg.c parses it); then each check runs in the order
 * a human would read the request, and the first failure becomes the
 * request's error text.  The Id is taken as soon as the head is parsed, so
 * that even a request we refuse can be answered on the proxy's side.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "duration.h"
#include "hop.h"
#include "httpmsg.h"
#include "pushprox_limits.h"
#include "scrapereq.h"
#include "targets.h"
#include "url.h"

#define SCRAPEREQ_TIMEOUT_HDR	"X-Prometheus-Scrape-Timeout-Seconds"

static int
scrapereq_headers_cb(struct httpmsg *m, void *arg)
{
	return 0;
}

/* A GET has no body; one sent anyway is ignored, not forwarded. */
static int
scrapereq_body_cb(struct httpmsg *m, const char *data, size_t len,
    void *arg)
{
	return 0;
}

static int
scrapereq_complete_cb(struct httpmsg *m, void *arg)
{
	return 0;
}

static const struct httpmsg_cbs scrapereq_cbs = {
	scrapereq_headers_cb, scrapereq_body_cb, scrapereq_complete_cb,
};

/* Sets the error text (the first one wins); -1 on ENOMEM. */
static int
scrapereq_fail(struct scrapereq *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
scrapereq_fail(struct scrapereq *r, const char *fmt, ...)
{
	struct buf	 b;
	va_list		 ap;
	int		 rv;

	if (r->error != NULL)
		return 0;
	buf_init(&b, LIMIT_ERROR_BODY_BYTES);
	va_start(ap, fmt);
	rv = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rv == -1) {
		/* Over the cap: say so rather than nothing. */
		buf_release(&b);
		r->error = strdup("scrape request rejected (error text too "
		    "long)");
	} else
		r->error = b.data != NULL ? b.data : strdup("");
	return r->error != NULL ? 0 : -1;
}

/* Copies the headers that go on to the target; -1 on ENOMEM. */
static int
scrapereq_copy_headers(struct scrapereq *r, const struct httpmsg *m)
{
	const struct httpmsg_header	*h;
	size_t				 i, n = httpmsg_header_count(m);

	if (n == 0)
		return 0;
	if ((r->headers = calloc(n, sizeof(*r->headers))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		h = httpmsg_header_at(m, i);
		if (!hop_forwards_msg(HOP_POLL_TO_TARGET, m, h->name))
			continue;
		r->headers[r->nheaders].name = strdup(h->name);
		r->headers[r->nheaders].value = strdup(h->value);
		r->nheaders++;
		if (r->headers[r->nheaders - 1].name == NULL ||
		    r->headers[r->nheaders - 1].value == NULL)
			return -1;
	}
	return 0;
}

/*
 * Removes every _scheme parameter from u->path_query, keeping the others
 * in order; *scheme is its first value, or NULL if there was none (caller
 * frees).  -1 on ENOMEM.
 */
static int
scrapereq_take_scheme(struct url *u, char **scheme)
{
	const char	*q, *p, *end;
	size_t		 plen, klen;
	struct buf	 b;
	bool		 first = true;

	*scheme = NULL;
	if ((q = strchr(u->path_query, '?')) == NULL)
		return 0;
	buf_init(&b, strlen(u->path_query));
	plen = (size_t)(q - u->path_query);
	if (buf_append(&b, u->path_query, plen) == -1)
		goto fail;
	for (p = q + 1; *p != '\0'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		klen = strcspn(p, "=&");
		if (klen == strlen("_scheme") &&
		    strncmp(p, "_scheme", klen) == 0) {
			if (*scheme == NULL && (*scheme = p[klen] == '=' ?
			    strndup(p + klen + 1,
			    (size_t)(end - p) - klen - 1) :
			    strdup("")) == NULL)
				goto fail;
			continue;
		}
		if (end == p)
			continue;
		if (buf_puts(&b, first ? "?" : "&") == -1 ||
		    buf_append(&b, p, (size_t)(end - p)) == -1)
			goto fail;
		first = false;
	}
	if (*scheme == NULL) {
		/* Nothing to remove: leave the query byte for byte. */
		buf_release(&b);
		return 0;
	}
	free(u->path_query);
	u->path_query = b.data != NULL ? b.data : strdup("/");
	return u->path_query != NULL ? 0 : -1;
fail:
	buf_release(&b);
	free(*scheme);
	*scheme = NULL;
	return -1;
}

/* scheme://host[:port]/path?query, with brackets for IPv6 hosts. */
static char *
scrapereq_format_url(const struct url *u)
{
	struct buf	 b;
	bool		 v6 = strchr(u->host, ':') != NULL;

	buf_init(&b, strlen(u->host) + strlen(u->path_query) + 32);
	if (buf_printf(&b, "%s://%s%s%s", u->scheme, v6 ? "[" : "", u->host,
	    v6 ? "]" : "") == -1 ||
	    (u->has_port && buf_printf(&b, ":%u", (unsigned)u->port) == -1) ||
	    buf_puts(&b, u->path_query) == -1) {
		buf_release(&b);
		return NULL;
	}
	return b.data;
}

/*
 * Port 0: the named-target route.  The path must be exactly
 * "/pushprox/targets/NAME/metrics" (no query: a named target's query is
 * its url's); r->name gets NAME.  -1 on ENOMEM (errors go to r->error).
 */
static int
scrapereq_check_name(struct scrapereq *r, const struct url *u)
{
	char	 name[LIMIT_MAX_TARGET_NAME_BYTES + 1];

	if (!targets_path_name(u->path_query, name, sizeof(name))) {
		r->error_status = 404;
		return scrapereq_fail(r, "scrape request \"%.256s\" is for "
		    "port 0, the named-target route, but its path is not "
		    "/pushprox/targets/NAME/metrics (NAME of [A-Za-z0-9_.-], "
		    "no query)", r->target);
	}
	r->port = 0;
	if ((r->name = strdup(name)) == NULL ||
	    (r->url = strdup(r->target)) == NULL ||
	    (r->path = strndup(u->path_query, strcspn(u->path_query, "?"))) ==
	    NULL)
		return -1;
	return 0;
}

/* Checks and rewrites the URL; -1 on ENOMEM (errors go to r->error). */
static int
scrapereq_check_url(struct scrapereq *r, const char *fqdn)
{
	struct url	 u;
	const char	*why = NULL;
	char		*scheme = NULL;
	int		 rv = 0;

	if (url_parse(r->target, &u, &why) == -1)
		return scrapereq_fail(r, "scrape request URL \"%.256s\" is "
		    "not an absolute http(s) URL: %s", r->target,
		    why != NULL ? why : "invalid");
	if (strcasecmp(u.host, fqdn) != 0) {
		rv = scrapereq_fail(r, "scrape target host \"%.256s\" is not "
		    "this client's FQDN \"%s\"", u.host, fqdn);
		goto out;
	}
	if (u.has_port && u.port == 0) {
		rv = scrapereq_check_name(r, &u);
		goto out;
	}
	if (scrapereq_take_scheme(&u, &scheme) == -1) {
		rv = -1;
		goto out;
	}
	if (scheme != NULL) {
		if (strcasecmp(scheme, "https") == 0)
			memcpy(u.scheme, "https", sizeof("https"));
		else if (strcasecmp(scheme, "http") == 0)
			memcpy(u.scheme, "http", sizeof("http"));
		else {
			rv = scrapereq_fail(r, "scrape request parameter "
			    "_scheme=\"%.64s\" is neither http nor https",
			    scheme);
			goto out;
		}
	}
	if (!u.has_port)
		u.port = strcmp(u.scheme, "https") == 0 ? 443 : 80;
	r->port = u.port;
	if ((r->url = scrapereq_format_url(&u)) == NULL ||
	    (r->path = strndup(u.path_query, strcspn(u.path_query, "?"))) ==
	    NULL)
		rv = -1;
out:
	free(scheme);
	url_release(&u);
	return rv;
}

/* Runs the checks on a complete message; -1 on ENOMEM. */
static int
scrapereq_check(struct scrapereq *r, const struct httpmsg *m,
    const char *fqdn, int64_t default_timeout_ms)
{
	const char	*id, *method, *target, *tmo;

	id = httpmsg_header(m, "Id");
	if (id == NULL || id[0] == '\0')
		return scrapereq_fail(r, "scrape request has no Id header");
	if ((r->id = strdup(id)) == NULL)
		return -1;
	if ((target = httpmsg_target(m)) == NULL || target[0] == '\0')
		return scrapereq_fail(r, "scrape request has no URL");
	if ((r->target = strdup(target)) == NULL)
		return -1;
	method = httpmsg_method(m);
	if (method == NULL || strcmp(method, "GET") != 0)
		return scrapereq_fail(r, "scrape request method \"%.32s\" is "
		    "not GET", method != NULL ? method : "");
	if (scrapereq_check_url(r, fqdn) == -1)
		return -1;
	if (r->error != NULL)
		return 0;
	tmo = httpmsg_header(m, SCRAPEREQ_TIMEOUT_HDR);
	if (tmo != NULL && duration_parse_seconds(tmo, &r->timeout_ms) == -1) {
		r->timeout_ms = default_timeout_ms;
		return scrapereq_fail(r, "scrape request has an invalid "
		    SCRAPEREQ_TIMEOUT_HDR " \"%.64s\": not a positive number "
		    "of seconds", tmo);
	}
	return scrapereq_copy_headers(r, m);
}

struct scrapereq *
scrapereq_parse(const char *body, size_t len, const char *fqdn,
    int64_t default_timeout_ms)
{
	struct scrapereq	*r;
	struct httpmsg		*m;
	int			 rv;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	/* Even a refused request's answer carries a timeout. */
	r->timeout_ms = default_timeout_ms;
	r->error_status = 500;
	if ((m = httpmsg_new(HTTPMSG_REQUEST, LIMIT_MAX_HEADER_BYTES,
	    &scrapereq_cbs, r)) == NULL) {
		free(r);
		return NULL;
	}
	if (len == 0)
		rv = scrapereq_fail(r, "scrape request is empty");
	else if (httpmsg_feed(m, body, len) == -1 ||
	    (!httpmsg_complete(m) && httpmsg_feed_eof(m) == -1) ||
	    !httpmsg_complete(m))
		rv = scrapereq_fail(r, "scrape request is not a valid HTTP "
		    "request: %s", httpmsg_error(m) != NULL ?
		    httpmsg_error(m) : "incomplete");
	else
		rv = scrapereq_check(r, m, fqdn, default_timeout_ms);
	/* Even an unparsable request may name its scrape. */
	if (rv == 0 && r->id == NULL && httpmsg_head_done(m) &&
	    httpmsg_header(m, "Id") != NULL && httpmsg_header(m, "Id")[0] &&
	    (r->id = strdup(httpmsg_header(m, "Id"))) == NULL)
		rv = -1;
	httpmsg_free(m);
	if (rv == -1) {
		scrapereq_free(r);
		return NULL;
	}
	return r;
}

const char *const scrapereq_redirects_names[] = { "same-origin", "none",
    "any", NULL };

bool
scrapereq_is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308;
}

int
scrapereq_redirect(const char *from, const char *location, int policy,
    struct scrapereq_hop *next, const char **why)
{
	struct url	 f, l;
	int		 rv = -1;

	memset(next, 0, sizeof(*next));
	*why = NULL;
	if (policy == SCRAPEREQ_REDIRECTS_NONE) {
		*why = "redirects are not followed (--scrape.redirects=none)";
		return -1;
	}
	if (url_parse(location, &l, why) == -1) {
		if (*why == NULL)
			*why = "not an absolute http(s) URL";
		return -1;
	}
	if (url_parse(from, &f, why) == -1) {
		url_release(&l);
		*why = "the URL redirected from does not parse";
		return -1;
	}
	if (!url_connectable(&l)) {
		url_release(&l);
		url_release(&f);
		*why = "port 0 is not a port one can connect to";
		return -1;
	}
	if (!l.has_port)
		l.port = strcmp(l.scheme, "https") == 0 ? 443 : 80;
	if (!f.has_port)
		f.port = strcmp(f.scheme, "https") == 0 ? 443 : 80;
	next->same_origin = strcmp(l.scheme, f.scheme) == 0 &&
	    strcmp(l.host, f.host) == 0 && l.port == f.port;
	if (policy != SCRAPEREQ_REDIRECTS_ANY && !next->same_origin)
		*why = "it leaves the scheme, host and port of the scrape "
		    "(--scrape.redirects=same-origin)";
	else {
		/* Fetch what was vetted: the URL rebuilt from its parts. */
		next->port = l.port;
		if ((next->url = scrapereq_format_url(&l)) == NULL ||
		    (next->path = strndup(l.path_query,
		    strcspn(l.path_query, "?"))) == NULL) {
			scrapereq_hop_release(next);
			*why = "out of memory";
		} else
			rv = 0;
	}
	url_release(&f);
	url_release(&l);
	return rv;
}

void
scrapereq_hop_release(struct scrapereq_hop *h)
{
	free(h->url);
	free(h->path);
	h->url = h->path = NULL;
}

int64_t
scrapereq_target_timeout(int64_t timeout_ms)
{
	int64_t	 margin = timeout_ms / 10;

	if (margin > LIMIT_TARGET_MARGIN_MS)
		margin = LIMIT_TARGET_MARGIN_MS;
	return timeout_ms - margin > 1 ? timeout_ms - margin : 1;
}

void
scrapereq_free(struct scrapereq *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nheaders; i++) {
		free((char *)(uintptr_t)r->headers[i].name);
		free((char *)(uintptr_t)r->headers[i].value);
	}
	free(r->headers);
	free(r->id);
	free(r->target);
	free(r->url);
	free(r->path);
	free(r->error);
	free(r->name);
	free(r);
}
