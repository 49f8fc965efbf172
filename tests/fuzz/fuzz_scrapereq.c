/*
 * client/scrapereq: the body of a poll answer (a proxy-form GET with an
 * Id header), which the client parses, checks and acts on.  The whole
 * input is the body.  It is parsed three times, as three clients would:
 * FQDN "node1.example" (the corpus' host), "::1", and the host the input's
 * own request line names (so the checks past the FQDN match are reached
 * whatever the host).
 *
 * Invariants for a request that passed (error == NULL): it has an Id, a
 * positive timeout, a URL that parses again with url_parse, whose host is
 * the FQDN and whose query has no _scheme parameter left, and only
 * headers that may be forwarded (valid, not hop-by-hop, not Host or Id).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "hop.h"
#include "httpmsg.h"
#include "scrapereq.h"
#include "url.h"

#include "fuzz_util.h"

#define FUZZ_DEFAULT_TIMEOUT_MS	10000

/* True if a query string ("a=1&_scheme=x") has a _scheme parameter. */
static bool
fuzz_has_scheme_param(const char *pq)
{
	const char	*p = strchr(pq, '?');
	size_t		 klen;

	if (p == NULL)
		return false;
	for (p++; *p != '\0'; p += strcspn(p, "&"), p += *p == '&') {
		klen = strcspn(p, "=&");
		if (klen == 7 && strncmp(p, "_scheme", 7) == 0)
			return true;
	}
	return false;
}

static void
fuzz_check_request(const struct scrapereq *r, const char *fqdn)
{
	struct url	 u;
	const char	*why = NULL;
	size_t		 i;

	FUZZ_CHECK(r != NULL);
	if (r->id != NULL)
		FUZZ_CHECK(fuzz_touch(r->id) > 0);
	if (r->target != NULL)
		fuzz_touch(r->target);
	if (r->error != NULL) {
		fuzz_touch(r->error);
		return;
	}
	FUZZ_CHECK(r->id != NULL && r->target != NULL && r->url != NULL);
	FUZZ_CHECK(r->timeout_ms > 0);
	if (url_parse(r->url, &u, &why) != 0) {
		fprintf(stderr, "accepted scrape URL \"%s\" does not parse "
		    "again: %s\n", r->url, why);
		abort();
	}
	FUZZ_CHECK(strcasecmp(u.host, fqdn) == 0);
	FUZZ_CHECK(u.path_query != NULL && u.path_query[0] == '/');
	FUZZ_CHECK(!fuzz_has_scheme_param(u.path_query));
	url_release(&u);
	FUZZ_CHECK(r->nheaders == 0 || r->headers != NULL);
	for (i = 0; i < r->nheaders; i++) {
		const struct httpmsg_header *h = &r->headers[i];

		FUZZ_CHECK(httpmsg_header_valid(h->name, h->value));
		/* Every forwarded header passes the one policy. */
		FUZZ_CHECK(hop_forwards(HOP_POLL_TO_TARGET, r->headers,
		    r->nheaders, h->name));
		FUZZ_CHECK(strcasecmp(h->name, "Host") != 0);
		FUZZ_CHECK(strcasecmp(h->name, "Id") != 0);
	}
}

static void
fuzz_parse_as(const char *body, size_t len, const char *fqdn)
{
	struct scrapereq *r;

	r = scrapereq_parse(body, len, fqdn, FUZZ_DEFAULT_TIMEOUT_MS);
	FUZZ_CHECK(r != NULL);	/* NULL only on ENOMEM */
	fuzz_check_request(r, fqdn);
	scrapereq_free(r);
}

/*
 * The host of the request line's target ("GET http://h:1/ HTTP/1.1"), as
 * url_parse sees it; "" if there is none.
 */
static void
fuzz_target_host(const char *body, size_t len, char *host, size_t hostlen)
{
	const char	*sp, *end;
	char		*target;
	struct url	 u;
	const char	*why;

	host[0] = '\0';
	if ((sp = memchr(body, ' ', len)) == NULL)
		return;
	sp++;
	end = sp;
	while ((size_t)(end - body) < len && *end != ' ' && *end != '\r' &&
	    *end != '\n')
		end++;
	target = fuzz_cstr((const uint8_t *)sp, (size_t)(end - sp));
	if (url_parse(target, &u, &why) == 0) {
		snprintf(host, hostlen, "%s", u.host);
		url_release(&u);
	}
	free(target);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*body, host[256];

	/* Exact-size copy, not NUL-terminated: the parser takes a length. */
	if ((body = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(body, data, size);
	fuzz_parse_as(body, size, "node1.example");
	fuzz_parse_as(body, size, "::1");
	fuzz_target_host(body, size, host, sizeof(host));
	if (host[0] != '\0')
		fuzz_parse_as(body, size, host);
	free(body);
	return 0;
}
