/*
 * The proxy's service-discovery renderings of advertisements: the
 * http_sd target groups of GET /targets (one per advertised target, ready
 * to scrape through the proxy) and of GET /clients (one per client).
 * Written straight into a capped buffer, as proxy/sd.c does, for the same
 * reason: jansson's build and dump dominate a large answer.  Peer strings
 * were checked UTF-8 when the advertisement was decoded (advert.c) and
 * are escaped here on the way out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "advert.h"
#include "advertsd.h"
#include "buf.h"
#include "pushprox_limits.h"

/* Appends s as a JSON string (s is valid UTF-8: checked on the way in). */
static int
advert_put_string(struct buf *out, const char *s)
{
	const char *p = s;
	size_t run;
	int rv = buf_puts(out, "\"");

	/* Runs of bytes JSON takes as they are go in one append (a /targets
	   answer of 19,000 clients is mostly such runs). */
	while (*p != '\0' && rv == 0) {
		unsigned char c;

		for (run = 0; (c = (unsigned char)p[run]) >= 0x20 && c != '"' &&
		    c != '\\'; run++)
			;
		if (run > 0)
			rv = buf_append(out, p, run);
		p += run;
		if ((c = (unsigned char)*p) == '\0' || rv != 0)
			break;
		if (c == '"' || c == '\\')
			rv = buf_printf(out, "\\%c", c);
		else
			rv = buf_printf(out, "\\u%04x", c);
		p++;
	}
	return rv != 0 ? -1 : buf_puts(out, "\"");
}

static int
advert_put_label(struct buf *out, const char *name, const char *value,
    bool *comma)
{
	int rv = 0;

	if (*comma)
		rv |= buf_puts(out, ",");
	*comma = true;
	rv |= advert_put_string(out, name);
	rv |= buf_puts(out, ":");
	rv |= advert_put_string(out, value);
	return rv != 0 ? -1 : 0;
}

/* The __meta_pushprox_* liveness labels of a client. */
static int
advert_put_meta(struct buf *out, const struct advert *a,
    const struct advert_live *live, bool *comma)
{
	char secs[24];
	int rv = 0;

	snprintf(secs, sizeof(secs), "%" PRId64, live->poll_open ? 0 :
	    live->seen_seconds < 0 ? 0 : live->seen_seconds);
	rv |= advert_put_label(out, "__meta_pushprox_fqdn", live->fqdn, comma);
	if (a != NULL)
		rv |= advert_put_label(out, "__meta_pushprox_client_version",
		    a->client_version, comma);
	if (live->address != NULL)
		rv |= advert_put_label(out, "__meta_pushprox_client_address",
		    live->address, comma);
	rv |= advert_put_label(out, "__meta_pushprox_last_seen_seconds", secs,
	    comma);
	rv |= advert_put_label(out, "__meta_pushprox_poll_open",
	    live->poll_open ? "true" : "false", comma);
	return rv != 0 ? -1 : 0;
}

/* The client's labels and t's, merged (t wins), in name order. */
static int
advert_put_merged(struct buf *out, const struct labels *c,
    const struct labels *t, bool *comma)
{
	size_t i = 0, j = 0;
	int cmp, rv = 0;

	while (rv == 0 && (i < c->n || j < t->n)) {
		cmp = i == c->n ? 1 : j == t->n ? -1 :
		    strcmp(c->v[i].name, t->v[j].name);
		if (cmp < 0) {
			rv = advert_put_label(out, c->v[i].name,
			    c->v[i].value, comma);
			i++;
		} else {
			rv = advert_put_label(out, t->v[j].name,
			    t->v[j].value, comma);
			i += cmp == 0;
			j++;
		}
	}
	return rv;
}

int
advert_render_targets(struct buf *out, const struct advert *a,
    const struct advert_live *live, bool *first)
{
	const struct advert_target *t;
	char path[sizeof(ADVERT_PATH_PREFIX) + LIMIT_MAX_TARGET_NAME_BYTES +
	    sizeof(ADVERT_PATH_SUFFIX)];
	char instance[LIMIT_MAX_FQDN_BYTES + 1 + LIMIT_MAX_TARGET_NAME_BYTES +
	    1], address[LIMIT_MAX_FQDN_BYTES + 3];
	size_t i;
	bool comma;
	int rv = 0;

	for (i = 0; i < a->ntargets && rv == 0; i++) {
		t = &a->targets[i];
		snprintf(path, sizeof(path), "%s%s%s", ADVERT_PATH_PREFIX,
		    t->name, ADVERT_PATH_SUFFIX);
		snprintf(instance, sizeof(instance), "%s/%s", live->fqdn,
		    t->name);
		snprintf(address, sizeof(address), "%s:0", live->fqdn);
		comma = false;
		rv |= buf_puts(out, *first ? "{\"targets\":[" :
		    ",{\"targets\":[");
		*first = false;
		rv |= advert_put_string(out, address);
		rv |= buf_puts(out, "],\"labels\":{");
		rv |= advert_put_label(out, "__metrics_path__", path, &comma);
		rv |= advert_put_label(out, "__meta_pushprox_target", t->name,
		    &comma);
		rv |= advert_put_meta(out, a, live, &comma);
		rv |= advert_put_label(out, "instance", instance, &comma);
		rv |= advert_put_merged(out, &a->labels, &t->labels, &comma);
		rv |= buf_puts(out, "}}");
	}
	return rv != 0 ? -1 : 0;
}

int
advert_render_client(struct buf *out, const struct advert *a,
    const struct advert_live *live, bool *first)
{
	static const struct labels none = { NULL, 0, 0 };
	bool comma = false;
	int rv = 0;

	rv |= buf_puts(out, *first ? "{\"targets\":[" : ",{\"targets\":[");
	*first = false;
	rv |= advert_put_string(out, live->fqdn);
	rv |= buf_puts(out, "],\"labels\":{");
	rv |= advert_put_meta(out, a, live, &comma);
	rv |= advert_put_merged(out, a != NULL ? &a->labels : &none, &none,
	    &comma);
	rv |= buf_puts(out, "}}");
	return rv != 0 ? -1 : 0;
}
