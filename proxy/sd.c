/*
 * Service discovery output.  It is written straight into a buffer rather
 * than built as a jansson tree: with 19,000 clients jansson's build, dump
 * and free took most of a 60 ms answer (docs/performance.md).  Strings go
 * through advert.c's JSON writer, which escapes what JSON needs; the unit
 * test parses the output with jansson.  The answer is capped at
 * LIMIT_MAX_SD_MIB; past it the reader gets a 503 naming the cap.
 *
 * What a client advertised changes rarely and is read on every refresh
 * of every Prometheus, so its groups are rendered once, when stored
 * (sd_prerender), by advertsd.c with the liveness labels at fixed values,
 * and cut at those: the pieces are kept with a NUL between them, and a
 * request writes the pieces with the live values in between (19,000
 * clients: a few ms instead of ~60; docs/performance.md).  The pieces
 * hold no NUL: JSON escapes every control byte.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "advert.h"
#include "advertsd.h"
#include "buf.h"
#include "httpreq.h"
#include "log.h"
#include "proxy.h"
#include "pushprox_limits.h"
#include "registry.h"
#include "sd.h"

#define SD_MAX_BYTES	((size_t)LIMIT_MAX_SD_MIB * 1024 * 1024)

/* The liveness labels as sd_prerender renders them, to be cut out. */
static const char sd_fixed[] = "\"__meta_pushprox_last_seen_seconds\":\"0\","
    "\"__meta_pushprox_poll_open\":\"false\"";

char *
sd_prerender(const struct advert *a, const char *fqdn, enum sd_kind kind)
{
	struct advert_live live = { fqdn, NULL, 0, false };
	struct buf out, cut;
	const char *p, *hit;
	bool first = true;
	int rv;

	buf_init(&out, SD_MAX_BYTES);
	rv = kind == SD_CLIENTS ? advert_render_client(&out, a, &live, &first) :
	    advert_render_targets(&out, a, &live, &first);
	if (rv == -1) {
		buf_release(&out);
		return NULL;
	}
	/* Every group has the fixed labels once: a NUL in their place. */
	buf_init(&cut, out.len + 1);
	for (p = buf_cstr(&out); (hit = strstr(p, sd_fixed)) != NULL;
	    p = hit + sizeof(sd_fixed) - 1) {
		if (buf_append(&cut, p, (size_t)(hit - p)) == -1 ||
		    buf_append(&cut, "", 1) == -1)
			rv = -1;
	}
	if (buf_puts(&cut, p) == -1)
		rv = -1;
	buf_release(&out);
	if (rv == -1) {
		buf_release(&cut);
		return NULL;
	}
	return cut.data != NULL ? cut.data : strdup("");
}

/*
 * The liveness labels of e at now_ms, in place of sd_fixed, into live
 * (the same for every group of a client).  Returns their length.
 */
static size_t
sd_format_live(char *live, size_t size, const struct registry_entry *e,
    int64_t now_ms)
{
	int64_t secs = e->poll_open || now_ms <= e->last_seen_ms ? 0 :
	    (now_ms - e->last_seen_ms) / 1000;
	int n;

	/*
	 * A peer address is digits, hex, dots, colons, brackets: no escaping.
	 */
	if (e->address != NULL && strspn(e->address, "0123456789abcdefABCDEF"
	    ".:[]") == strlen(e->address))
		n = snprintf(live, size, "\"__meta_pushprox_client_address\":"
		    "\"%s\",\"__meta_pushprox_last_seen_seconds\":\"%lld\","
		    "\"__meta_pushprox_poll_open\":\"%s\"", e->address,
		    (long long)secs, e->poll_open ? "true" : "false");
	else
		n = snprintf(live, size,
		    "\"__meta_pushprox_last_seen_seconds\":"
		    "\"%lld\",\"__meta_pushprox_poll_open\":\"%s\"",
		    (long long)secs, e->poll_open ? "true" : "false");
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/*
 * Writes ngroups groups from pre-rendered pieces (ngroups + 1 of them)
 * with e's liveness labels between them.
 */
static int
sd_put_pieces(struct buf *out, const char *pieces, size_t ngroups,
    const struct registry_entry *e, int64_t now_ms, bool *first)
{
	char live[256];
	size_t k, len, livelen;

	if (ngroups == 0)
		return 0;
	if ((livelen = sd_format_live(live, sizeof(live), e, now_ms)) == 0)
		return -1;
	if (!*first && buf_puts(out, ",") == -1)
		return -1;
	*first = false;
	for (k = 0; k <= ngroups; k++) {
		len = strlen(pieces);
		if (buf_append(out, pieces, len) == -1 ||
		    (k < ngroups && buf_append(out, live, livelen) == -1))
			return -1;
		pieces += len + 1;
	}
	return 0;
}

/* How the proxy sees entry e at now_ms, for advert_render_*. */
static void
sd_live(const struct registry_entry *e, int64_t now_ms,
    struct advert_live *live)
{
	live->fqdn = e->fqdn;
	live->address = e->address;
	live->seen_seconds = now_ms > e->last_seen_ms ?
	    (now_ms - e->last_seen_ms) / 1000 : 0;
	live->poll_open = e->poll_open;
}

int
sd_render(struct buf *out, const struct registry_entry *v, size_t n,
    int64_t now_ms, enum sd_kind kind)
{
	struct advert_live live;
	bool first = true;
	size_t i;
	int rv = 0;

	if (buf_puts(out, "[") == -1)
		return -1;
	for (i = 0; i < n && rv == 0; i++) {
		sd_live(&v[i], now_ms, &live);
		if (kind == SD_CLIENTS && v[i].sd_client != NULL)
			rv = sd_put_pieces(out, v[i].sd_client, 1, &v[i],
			    now_ms, &first);
		else if (kind == SD_CLIENTS)
			rv = advert_render_client(out, v[i].advert, &live,
			    &first);
		else if (v[i].sd_targets != NULL)
			rv = sd_put_pieces(out, v[i].sd_targets,
			    v[i].advert->ntargets, &v[i], now_ms, &first);
		else if (v[i].advert != NULL)
			rv = advert_render_targets(out, v[i].advert, &live,
			    &first);
	}
	if (rv != 0 || buf_puts(out, "]") == -1)
		return -1;
	return 0;
}

/* Answers GET /clients or GET /targets from the registry. */
static void
sd_answer(struct proxy *px, struct httpreq *req, enum sd_kind kind)
{
	const char *what = kind == SD_CLIENTS ? "/clients" : "/targets";
	struct registry_entry *v;
	struct buf out;
	size_t n = 0;
	int64_t now = proxy_now_ms(px);

	if ((v = registry_snapshot(px->registry, now, &n)) == NULL) {
		log_error("cannot render service discovery", "path", what,
		    "error", "out of memory");
		httpreq_reply_text(req, 503, "pushprox: out of memory");
		return;
	}
	buf_init(&out, SD_MAX_BYTES);
	if (sd_render(&out, v, n, now, kind) == -1) {
		free(v);
		buf_release(&out);
		log_error("cannot render service discovery", "path", what,
		    "error", "out of memory or over LIMIT_MAX_SD_MIB ("
		    LIMIT_STR(LIMIT_MAX_SD_MIB) " MiB)");
		httpreq_reply_text(req, 503, "pushprox: out of memory, or "
		    "the answer is larger than " LIMIT_STR(LIMIT_MAX_SD_MIB)
		    " MiB");
		return;
	}
	free(v);
	httpreq_reply(req, 200, "application/json", out.data, out.len);
	buf_release(&out);
}

void
sd_reply(struct proxy *px, struct httpreq *req)
{
	sd_answer(px, req, SD_CLIENTS);
}

void
sd_targets_reply(struct proxy *px, struct httpreq *req)
{
	sd_answer(px, req, SD_TARGETS);
}
