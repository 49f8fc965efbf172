/*
 * POST /advertise (docs/protocol.md 2.2).  Checked in this order, so that
 * nobody but the FQDN's own client can touch what is stored for it:
 *   1. Pushprox-Fqdn names a valid FQDN (400; nothing stored is touched);
 *   2. the client's identity may claim it (clientauth: 401/403, as for a
 *      poll; nothing touched);
 *   3. Pushprox-Targets is a tag (400), the body is JSON (415), within
 *      --advertise.max-bytes (413, answered as soon as the count passes
 *      the cap), and advert_decode accepts it under the proxy's caps
 *      (400 naming the field and the limit or flag).
 * From step 3 on, a refusal clears what was stored for the FQDN (so
 * /targets never lists a set the client no longer stands by) and nothing
 * else.  Success stores the advertisement under the client's tag and
 * answers 204 + Pushprox-Targets: TAG.
 *
 * An advertisement is contact: it registers the FQDN (or refreshes it) as
 * a poll does, so a client that advertises and then polls is listed at
 * once; without polls it leaves /clients and /targets after
 * --registration.timeout like any client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "advert.h"
#include "advertise.h"
#include "buf.h"
#include "clientauth.h"
#include "config.h"
#include "httpreq.h"
#include "httpmsg.h"
#include "log.h"
#include "poll.h"
#include "proxy.h"
#include "pushprox_limits.h"
#include "registry.h"
#include "sd.h"

struct advertise {
	struct proxy	*px;
	struct httpreq	*req;
	struct buf	 body;
	char		 fqdn[LIMIT_MAX_FQDN_BYTES + 1];
	char		 tag[ADVERT_MAX_TAG + 1];
};

/* The caps of --advertise.* as advert.c takes them. */
static void
advertise_limits(const struct proxy *px, struct advert_limits *lim)
{
	lim->max_targets = (size_t)px->cfg->advertise_max_targets;
	lim->max_label_bytes = (size_t)px->cfg->advertise_max_label_bytes;
	lim->max_bytes = (size_t)px->cfg->advertise_max_bytes;
}

/* Refuses before anything stored is touched (bad FQDN, identity). */
static void
advertise_deny(struct httpreq *req, const char *fqdn, int status,
    const char *text)
{
	log_warn("advertisement refused", "peer", httpreq_peer(req), "fqdn",
	    fqdn, "status", httpmsg_reason_phrase(status), "reason", text);
	httpreq_reply_text(req, status, text);
}

/* Refuses the FQDN's own client: what was stored for it goes. */
static void
advertise_refuse(struct proxy *px, struct httpreq *req, const char *fqdn,
    int status, const char *text)
{
	registry_clear_advert(px->registry, fqdn);
	advertise_deny(req, fqdn, status, text);
}

static void
advertise_free(struct advertise *ad)
{
	buf_release(&ad->body);
	free(ad);
}

static void
advertise_abort_cb(struct httpreq *req, const char *why, void *arg)
{
	struct advertise *ad = arg;

	log_info("advertisement abandoned", "peer", httpreq_peer(req), "fqdn",
	    ad->fqdn, "reason", why);
	advertise_free(ad);
}

static void
advertise_body_cb(struct httpreq *req, const char *data, size_t len,
    void *arg)
{
	struct advertise *ad = arg;
	char msg[160];

	if (ad->body.len + len > ad->body.max) {
		snprintf(msg, sizeof(msg), "body: more than the %zu bytes "
		    "allowed by --advertise.max-bytes", ad->body.max);
		advertise_refuse(ad->px, req, ad->fqdn, 413, msg);
		advertise_free(ad);
		return;
	}
	if (buf_append(&ad->body, data, len) == -1) {
		advertise_refuse(ad->px, req, ad->fqdn, 503, "pushprox: out of "
		    "memory reading the advertisement");
		advertise_free(ad);
	}
}

static void
advertise_done_cb(struct httpreq *req, void *arg)
{
	struct advertise *ad = arg;
	struct proxy *px = ad->px;
	struct advert_limits lim;
	struct advert *a;
	char err[512], *sd_client, *sd_targets;
	int status;

	advertise_limits(px, &lim);
	a = advert_decode(buf_cstr(&ad->body), ad->body.len, &lim, &status,
	    err, sizeof(err));
	if (a == NULL) {
		advertise_refuse(px, req, ad->fqdn, status, err);
		advertise_free(ad);
		return;
	}
	if (registry_register(px->registry, ad->fqdn, proxy_now_ms(px)) ==
	    -1) {
		advert_free(a);
		advertise_refuse(px, req, ad->fqdn, 503, "pushprox: out of "
		    "memory registering the client");
		advertise_free(ad);
		return;
	}
	/* Pre-rendered for /clients and /targets; without, rendered live. */
	sd_client = sd_prerender(a, ad->fqdn, SD_CLIENTS);
	sd_targets = sd_prerender(a, ad->fqdn, SD_TARGETS);
	/* Registered, and the tag fits: this cannot fail (it takes a). */
	(void)registry_set_advert(px->registry, ad->fqdn, a, ad->tag,
	    sd_client, sd_targets);
	if (httpreq_add_header(req, "Pushprox-Targets", ad->tag) == -1) {
		httpreq_clear_headers(req);
		advertise_refuse(px, req, ad->fqdn, 503, "pushprox: out of "
		    "memory answering the advertisement");
		advertise_free(ad);
		return;
	}
	registry_set_peer(px->registry, ad->fqdn, httpreq_peer(req));
	log_debug("advertisement stored", "fqdn", ad->fqdn, "tag", ad->tag,
	    "peer", httpreq_peer(req));
	httpreq_reply(req, 204, NULL, NULL, 0);
	advertise_free(ad);
}

/* Whether the Content-Type is application/json (parameters allowed). */
static int
advertise_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

void
advertise_start(struct proxy *px, struct httpreq *req)
{
	struct advertise *ad;
	const char *h = httpreq_header(req, "Pushprox-Fqdn"), *why;
	const char *tag = httpreq_header(req, "Pushprox-Targets");
	const char *len = httpreq_header(req, "Content-Length");
	char fqdn[LIMIT_MAX_FQDN_BYTES + 1], identity[CLIENTAUTH_IDENTITY_LEN];
	char msg[512];
	int status;

	if (h == NULL) {
		advertise_deny(req, "", 400, "POST /advertise needs a "
		    "Pushprox-Fqdn header naming the client's FQDN");
		return;
	}
	if (poll_parse_fqdn(h, strlen(h), fqdn, sizeof(fqdn), &why) == -1) {
		snprintf(msg, sizeof(msg), "invalid Pushprox-Fqdn header: %s",
		    why);
		advertise_deny(req, "", 400, msg);
		return;
	}
	if (clientauth_identify(px->clientauth, req, fqdn, identity, &status,
	    msg, sizeof(msg)) == -1) {
		advertise_deny(req, fqdn, status, msg);
		return;
	}
	if (tag == NULL || !advert_tag_ok(tag)) {
		snprintf(msg, sizeof(msg),
		    "%s Pushprox-Targets header%s%.80s%s: "
		    "POST /advertise needs the tag, 1 to %d of [0-9A-Za-z_-]",
		    tag == NULL ? "missing" : "invalid", tag == NULL ? "" :
		    " \"", tag == NULL ? "" : tag, tag == NULL ? "" : "\"",
		    ADVERT_MAX_TAG);
		advertise_refuse(px, req, fqdn, 400, msg);
		return;
	}
	if (!advertise_json(httpreq_header(req, "Content-Type"))) {
		advertise_refuse(px, req, fqdn, 415, "POST /advertise needs "
		    "Content-Type: application/json");
		return;
	}
	if (len != NULL && strtoull(len, NULL, 10) >
	    (unsigned long long)px->cfg->advertise_max_bytes) {
		snprintf(msg, sizeof(msg), "body: %.20s bytes, more than the "
		    "%lld allowed by --advertise.max-bytes", len,
		    (long long)px->cfg->advertise_max_bytes);
		advertise_refuse(px, req, fqdn, 413, msg);
		return;
	}
	if ((ad = calloc(1, sizeof(*ad))) == NULL) {
		advertise_deny(req, fqdn, 503, "pushprox: out of memory");
		return;
	}
	ad->px = px;
	ad->req = req;
	buf_init(&ad->body, (size_t)px->cfg->advertise_max_bytes);
	snprintf(ad->fqdn, sizeof(ad->fqdn), "%s", fqdn);
	snprintf(ad->tag, sizeof(ad->tag), "%s", tag);
	httpreq_set_abort_cb(req, advertise_abort_cb, ad);
	httpreq_stream_body(req, advertise_body_cb, advertise_done_cb, ad);
}
