/*
 * The target transfer.  The target is fetched with curl, the body kept
 * compressed as sent (no CURLOPT_ACCEPT_ENCODING) and capped at
 * --scrape.max-size; only the final response's head is kept (a new status
 * line, after a 100, starts it over).  Redirects are not curl's to follow:
 * the transfer ends at a redirect's head (REDIRECTING), and fetch_follow
 * vets the Location (--scrape.redirects, --scrape.max-redirects,
 * --scrape.allow) before fetching it as a new transfer, or pushes a 502
 * naming it.  Credentials (Authorization, Cookie) stay with the scrape's
 * origin.  The transfer stops a margin before the scrape timeout (see
 * scrapereq_target_timeout), so that its 500 beats the proxy's deadline.
 * With --scrape.target-host the connection goes there (CURLOPT_CONNECT_TO)
 * while URL, Host header, SNI and certificate check keep the FQDN.
 * A --targets.file target (j->tgt) brings its own URL, Unix socket and
 * TLS (CA, client certificate, server_name), which apply while the hops
 * stay on its origin; without its own TLS settings, and for plain https
 * scrapes, --tls.cacert, --tls.cert and --tls.key apply, as in the Go
 * client.  Environment proxies apply as client/netpolicy.h says.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "allow.h"
#include "buf.h"
#include "client.h"
#include "config.h"
#include "curlev.h"
#include "fetch.h"
#include "job.h"
#include "log.h"
#include "netpolicy.h"
#include "pushprox_limits.h"
#include "targets.h"
#include "url.h"
#include "scrapereq.h"
#include "upload.h"
#include "window.h"

/*
 * Whether a redirect's hop may be fetched: without --targets.file, if
 * --scrape.allow allows it; with one, if it stays on the origin of the
 * job's target, is a listed target's URL, or --scrape.allow has rules
 * that allow it.  Else false with why in expl.
 */
static bool
fetch_hop_allowed(struct job *j, const struct scrapereq_hop *hop,
    char *expl, size_t len)
{
	const struct client_config	*cfg = j->c->cfg;
	const struct targets		*set = j->c->targets;

	if (set == NULL && !j->has_tgt) {
		if (allow_match(cfg->allow, hop->port, hop->path))
			return true;
		allow_explain(cfg->allow, hop->port, hop->path, expl, len);
		return false;
	}
	if (j->has_tgt && hop->same_origin && !j->cross_origin)
		return true;
	if (set != NULL && targets_find_by_url(set, cfg->fqdn, hop->url) !=
	    NULL)
		return true;
	if (allow_count(cfg->allow) > 0 &&
	    allow_match(cfg->allow, hop->port, hop->path))
		return true;
	snprintf(expl, len, "it is not a target of --targets.file%s",
	    allow_count(cfg->allow) > 0 ? " nor allowed by --scrape.allow" :
	    "");
	return false;
}

/*
 * The target answered a redirect (j->location): fetch the next hop if
 * --scrape.redirects, --scrape.max-redirects and --scrape.allow let it,
 * else fail the scrape naming the refused location.
 */
static void
fetch_follow(struct job *j)
{
	const struct client_config	*cfg = j->c->cfg;
	struct scrapereq_hop		 hop;
	const char			*why = NULL;
	char				 expl[LIMIT_ERROR_BODY_BYTES / 4];
	char				 msg[LIMIT_ERROR_BODY_BYTES];
	char				*loc = j->location;

	j->location = NULL;
	if (j->hops >= cfg->scrape_max_redirects) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: more than "
		    "%" PRId64 " redirects (--scrape.max-redirects), the last "
		    "to %.1024s", job_url(j), cfg->scrape_max_redirects, loc);
		goto fail;
	}
	if (scrapereq_redirect(j->url, loc, cfg->scrape_redirects, &hop,
	    &why) == -1) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: the target "
		    "redirected to %.1024s, not followed: %s", job_url(j),
		    loc, why);
		goto fail;
	}
	if (!fetch_hop_allowed(j, &hop, expl, sizeof(expl))) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: the target "
		    "redirected to %.1024s, not followed: %s", job_url(j),
		    loc, expl);
		scrapereq_hop_release(&hop);
		goto fail;
	}
	log_debug("following redirect", "id", j->req->id, "from", j->url,
	    "to", hop.url);
	free(loc);
	free(hop.path);
	if (j->url != j->req->url)
		free(j->url);
	j->url = hop.url;
	j->hops++;
	if (!hop.same_origin)
		j->cross_origin = true;
	buf_reset(&j->head);
	buf_reset(&j->body);
	j->reason[0] = '\0';
	j->status = 0;
	j->fail = NULL;
	j->target_err[0] = '\0';
	fetch_start(j);
	return;
fail:
	free(loc);
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	job_fail(j, 502, msg);
}

static void
fetch_done_cb(CURL *easy, CURLcode res, void *arg)
{
	struct job	*j = arg;
	long		 status = 0;
	char		 msg[LIMIT_ERROR_BODY_BYTES];

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK)
		snprintf(msg, sizeof(msg), "scrape of %s failed: %s%s%s",
		    job_url(j), j->fail != NULL ? j->fail :
		    curl_easy_strerror(res), j->fail == NULL &&
		    j->target_err[0] != '\0' ? ": " : "",
		    j->fail == NULL ? j->target_err : "");
	curl_easy_cleanup(easy);
	j->target = NULL;
	if (job_streaming(j) && j->push != NULL) {
		/* The push is under way: it ends, or is cut, with the body. */
		if (res != CURLE_OK) {
			log_warn("scrape failed while streaming", "id",
			    j->req->id, "url", job_url(j), "err", msg);
			j->errors |= JOB_ERR_SCRAPE;
			job_set_state(j, JOB_CUT);
		} else
			job_set_state(j, JOB_DRAINING);
		event_active(j->kick, EV_TIMEOUT, 0);
		return;
	}
	if (j->state == JOB_REDIRECTING) {
		/* Ended by fetch_head_done once the redirect was known. */
		fetch_follow(j);
		return;
	}
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	if (res != CURLE_OK) {
		/* Nothing pushed yet, even if streaming was to start. */
		job_fail(j, 500, msg);
		return;
	}
	if (job_streaming(j)) {
		/* Done before the streamed push started: the kick starts it. */
		job_set_state(j, JOB_DRAINING);
		event_active(j->kick, EV_TIMEOUT, 0);
		return;
	}
	j->status = status;
	upload_relay(j);
}

/*
 * Keeps the reason phrase of a status line (len bytes, not NUL-terminated)
 * if it is short and printable (RFC 9112: HTAB, SP, VCHAR); otherwise
 * none, and the standard phrase of the status is pushed instead.
 */
static void
fetch_keep_reason(struct job *j, const char *line, size_t len)
{
	const char	*sp, *r, *e;
	size_t		 rlen, i;

	j->reason[0] = '\0';
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
	memcpy(j->reason, r, rlen);
	j->reason[rlen] = '\0';
}

/*
 * Resolves j->location (the Location header as sent) against the URL
 * fetched, as curl would, into an absolute URL (replacing it).  A value
 * curl cannot resolve is left as it is: scrapereq_redirect refuses it.
 */
static void
fetch_resolve_location(struct job *j)
{
	CURLU	*u;
	char	*abs = NULL, *copy;

	if ((u = curl_url()) == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, j->url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, j->location, CURLU_URLENCODE |
	    CURLU_ALLOW_SPACE) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK &&
	    (copy = strdup(abs)) != NULL) {
		free(j->location);
		j->location = copy;
	}
	curl_free(abs);
	curl_url_cleanup(u);
}

/*
 * At the end of a head: a redirect with a Location ends the transfer
 * here, its body unread (REDIRECTING), and fetch_follow decides.
 * Returns 0 to go on, -1 to end the transfer.
 */
static int
fetch_head_done(struct job *j)
{
	long	 status = 0;

	curl_easy_getinfo(j->target, CURLINFO_RESPONSE_CODE, &status);
	j->status = status;
	if (!scrapereq_is_redirect(status) || j->location == NULL) {
		free(j->location);
		j->location = NULL;
		return 0;
	}
	fetch_resolve_location(j);
	job_set_state(j, JOB_REDIRECTING);
	return -1;
}

/* Keeps the first Location header's value, for fetch_head_done. */
static int
fetch_keep_location(struct job *j, const char *data, size_t len)
{
	const char	*v = data + strlen("Location:"), *e = data + len;

	if (j->location != NULL)
		return 0;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' ||
	    e[-1] == '\t'))
		e--;
	if ((j->location = strndup(v, (size_t)(e - v))) == NULL) {
		j->fail = "out of memory for the Location header";
		return -1;
	}
	return 0;
}

static size_t
fetch_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct job	*j = arg;
	size_t		 len = size * n;

	if (j->state != JOB_FETCHING)
		return len;		/* trailers: not forwarded */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new response (1xx): forget the last one. */
		buf_reset(&j->head);
		free(j->location);
		j->location = NULL;
		fetch_keep_reason(j, data, len);
		return len;
	}
	if (memchr(data, '\0', len) != NULL) {
		j->fail = "a NUL byte in the target's response headers";
		return 0;
	}
	if (buf_append(&j->head, data, len) == -1) {
		snprintf(j->failbuf, sizeof(j->failbuf), "the target's "
		    "response headers are larger than %zu bytes (the client's "
		    "fixed limit)", j->head.max);
		j->fail = j->failbuf;
		return 0;
	}
	if (len > strlen("Location:") &&
	    strncasecmp(data, "Location:", strlen("Location:")) == 0 &&
	    fetch_keep_location(j, data, len) == -1)
		return 0;
	if ((len == 2 && memcmp(data, "\r\n", 2) == 0) ||
	    (len == 1 && data[0] == '\n'))
		return fetch_head_done(j) == -1 ? 0 : len;
	return len;
}

static size_t
fetch_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct job	*j = arg;
	size_t		 len = size * n, rv;
	curl_off_t	 cl = -1;

	if (j->state == JOB_FETCHING) {
		/* A declared length over the cap fails before any streaming. */
		curl_easy_getinfo(j->target, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &cl);
		if (cl > (curl_off_t)j->c->cfg->scrape_max_bytes) {
			j->fail = "response body larger than --scrape.max-size "
			    "(by its Content-Length)";
			return CURL_WRITEFUNC_ERROR;
		}
		j->declared = cl;
		job_set_state(j, JOB_RECEIVING);
	}
	if (j->total + (int64_t)len > j->c->cfg->scrape_max_bytes) {
		j->fail = "response body larger than --scrape.max-size";
		return CURL_WRITEFUNC_ERROR;
	}
	rv = window_write(j, data, len);
	if (rv == len)
		j->total += (int64_t)len;
	return rv;
}

/*
 * TLS of a hop: the target's own settings while on its origin (t), each
 * one it leaves out taken from --tls.cacert, --tls.cert and --tls.key,
 * as the Go client does for every https target; 0 or -1.
 */
static int
fetch_setup_tls(struct job *j, CURL *e, const struct target *t)
{
	const struct client_config	*cfg = j->c->cfg;
	const char			*ca = cfg->tls_cacert;
	const char			*cert = cfg->tls_cert,
	    *key = cfg->tls_key;

	if (t != NULL && t->has_tls) {
		if (t->tls.ca_file != NULL)
			ca = t->tls.ca_file;
		if (t->tls.cert_file != NULL) {
			cert = t->tls.cert_file;
			key = t->tls.key_file;
		}
		if (t->tls.insecure_skip_verify &&
		    (curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) !=
		    CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) !=
		    CURLE_OK))
			return -1;
	}
	if (ca != NULL && curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK)
		return -1;
	if (cert != NULL &&
	    (curl_easy_setopt(e, CURLOPT_SSLCERT, cert) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSLKEY, key) != CURLE_OK))
		return -1;
	return 0;
}

/*
 * A target's tls.server_name: the hop's URL with that host (so SNI and
 * the certificate check use it), CURLOPT_CONNECT_TO back to the real host
 * (unless over a Unix socket) and the real authority as Host.  *url is
 * then the URL to fetch (caller frees); 0, or -1 on ENOMEM.
 */
static int
fetch_setup_server_name(struct job *j, const struct target *t, char **url)
{
	struct url	 u;
	struct buf	 b;
	const char	*why, *auth, *sn = t->tls.server_name;
	bool		 v6;
	size_t		 alen;
	struct curl_slist *l;

	if (url_parse(j->url, &u, &why) == -1)
		return -1;
	v6 = strchr(u.host, ':') != NULL;
	auth = strstr(j->url, "://") + 3;
	alen = strcspn(auth, "/?#");
	buf_init(&b, strlen(j->url) + strlen(sn) + 2 * LIMIT_MAX_FQDN_BYTES +
	    64);
	if (buf_printf(&b, "%s://%s:%u%s", u.scheme, sn, (unsigned)u.port,
	    u.path_query) == -1 ||
	    (*url = strdup(buf_cstr(&b))) == NULL)
		goto fail;
	buf_reset(&b);
	if (buf_printf(&b, "Host: %.*s", (int)alen, auth) == -1 ||
	    (l = curl_slist_append(j->hdrs, buf_cstr(&b))) == NULL)
		goto fail;
	j->hdrs = l;
	if (t->unix_socket == NULL) {
		buf_reset(&b);
		if (buf_printf(&b, "%s:%u:%s%s%s:%u", sn, (unsigned)u.port,
		    v6 ? "[" : "", u.host, v6 ? "]" : "", (unsigned)u.port) ==
		    -1 || (l = curl_slist_append(j->connect, buf_cstr(&b))) ==
		    NULL)
			goto fail;
		j->connect = l;
	}
	buf_release(&b);
	url_release(&u);
	return 0;
fail:
	buf_release(&b);
	url_release(&u);
	return -1;
}

/*
 * Where a hop connects: over the target's Unix socket while on its origin
 * (never through a proxy), else by TCP through the environment's proxy
 * unless NO_PROXY or loopback says not (netpolicy); with the target's TLS
 * and server_name; --scrape.target-host's CURLOPT_CONNECT_TO.  0 or -1.
 */
static int
fetch_setup_route(struct job *j, CURL *e)
{
	const struct client_config	*cfg = j->c->cfg;
	const struct target		*t = j->has_tgt && !j->cross_origin ?
					    &j->tgt : NULL;
	const char			*sock = t != NULL ? t->unix_socket :
					    NULL;
	char				*url = NULL;
	const struct curl_slist		*n;
	struct curl_slist		*l;
	int				 rv = -1;

	curl_slist_free_all(j->connect);
	j->connect = NULL;
	if (t != NULL && t->has_tls && t->tls.server_name != NULL &&
	    strcmp(t->u.scheme, "https") == 0) {
		if (fetch_setup_server_name(j, t, &url) == -1 ||
		    curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs) !=
		    CURLE_OK)
			goto out;
	}
	/* --scrape.target-host, after server_name's own entry. */
	for (n = cfg->connect_to; n != NULL; n = n->next) {
		if ((l = curl_slist_append(j->connect, n->data)) == NULL)
			goto out;
		j->connect = l;
	}
	if (curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, sock) != CURLE_OK ||
	    netpolicy_apply(j->c->net, e, sock != NULL ? NULL : j->url) == -1 ||
	    fetch_setup_tls(j, e, t) == -1 ||
	    (j->connect != NULL &&
	    curl_easy_setopt(e, CURLOPT_CONNECT_TO, j->connect) != CURLE_OK))
		goto out;
	rv = 0;
out:
	free(url);
	return rv;
}

/* Options of the target transfer; -1 if curl refused one. */
static int
fetch_setup(struct job *j, CURL *e)
{
	const struct scrapereq	*r = j->req;
	struct curl_slist	*l;
	struct buf		 line;
	size_t			 i;
	/* Every hop shares the one deadline of the scrape. */
	long			 tmo = (long)(scrapereq_target_timeout(
				    r->timeout_ms) - job_elapsed_ms(j));
	int			 rv = 0;

	if (tmo < 1)
		return -1;
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	for (i = 0; i < r->nheaders && rv == 0; i++) {
		/* Credentials are for the scrape's origin only (as curl). */
		if (j->cross_origin &&
		    (strcasecmp(r->headers[i].name, "Authorization") == 0 ||
		    strcasecmp(r->headers[i].name, "Cookie") == 0))
			continue;
		/* "Name;" is curl's way to send a header with no value. */
		buf_init(&line, LIMIT_MAX_HEADER_BYTES);
		if (buf_printf(&line, "%s%s%s", r->headers[i].name,
		    r->headers[i].value[0] != '\0' ? ": " : ";",
		    r->headers[i].value) == -1 ||
		    (l = curl_slist_append(j->hdrs, line.data)) == NULL)
			rv = -1;
		else
			j->hdrs = l;
		buf_release(&line);
	}
	if (rv == -1 ||
	    curl_easy_setopt(e, CURLOPT_URL, j->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    tmo < LIMIT_CONNECT_TIMEOUT_MS ? tmo : LIMIT_CONNECT_TIMEOUT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->target_err) !=
	    CURLE_OK ||
	    /* Redirects are vetted hop by hop: see fetch_follow. */
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, fetch_header_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, j) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, j) != CURLE_OK)
		return -1;
	return fetch_setup_route(j, e);
}

void
fetch_start(struct job *j)
{
	char	 msg[LIMIT_ERROR_BODY_BYTES];

	job_set_state(j, JOB_FETCHING);
	if (j->req->port == 0 && !j->has_tgt) {
		/*
		 * scrapereq and job_route see to it; never connect to port 0.
		 */
		snprintf(msg, sizeof(msg), "scrape of %s failed: port 0 is the "
		    "named-target route, not a port to connect to", job_url(j));
		job_fail(j, 500, msg);
		return;
	}
	if (scrapereq_target_timeout(j->req->timeout_ms) -
	    job_elapsed_ms(j) < 1) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: timed out "
		    "after %" PRId64 " redirects", job_url(j), j->hops);
		job_fail(j, 500, msg);
		return;
	}
	if ((j->target = curl_easy_init()) == NULL) {
		snprintf(msg, sizeof(msg), "scrape of %s failed: cannot create "
		    "the transfer (curl_easy_init, out of memory)", job_url(j));
		job_fail(j, 500, msg);
		return;
	}
	if (fetch_setup(j, j->target) == -1 ||
	    curlev_add(j->c->cev, j->target, fetch_done_cb, j) == -1) {
		curl_easy_cleanup(j->target);
		j->target = NULL;
		snprintf(msg, sizeof(msg), "scrape of %s failed: cannot set up "
		    "the transfer", job_url(j));
		job_fail(j, 500, msg);
	}
}
