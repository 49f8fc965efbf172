/*
 * Absolute http(s) URLs, split by http_parser's URL parser (the same code
 * that accepts the request line, so both agree on what a URL is) and then
 * narrowed: only http and https, a host is required, userinfo is refused
 * (credentials must never travel in a proxied URL), and a fragment is
 * dropped since it never reaches the target anyway.  Port 0 is accepted
 * (has_port, port 0): it is the address of a named target
 * ("http://FQDN:0/pushprox/targets/NAME/metrics", docs/protocol.md 2.5),
 * which the proxy routes by its host like any scrape.  Whoever would
 * connect to a URL refuses port 0 itself (url_connectable).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "buf.h"
#include "url.h"

#define URL_FIELD(u, f)	((u)->field_set & (1 << (f)))

static bool
url_scheme_match(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

int
url_parse(const char *s, struct url *u, const char **why)
{
	struct http_parser_url	 pu;
	const char		*sch, *host, *path = "/", *query = NULL;
	size_t			 slen, schlen, hostlen, pathlen = 1;
	size_t			 qlen = 0, i, n;

	memset(u, 0, sizeof(*u));
	slen = strlen(s);
	http_parser_url_init(&pu);
	/* Offsets in http_parser_url are 16-bit. */
	if (slen > UINT16_MAX || http_parser_parse_url(s, slen, 0, &pu) != 0 ||
	    !URL_FIELD(&pu, UF_SCHEMA) || !URL_FIELD(&pu, UF_HOST)) {
		*why = "not an absolute http(s) URL";
		return -1;
	}
	sch = s + pu.field_data[UF_SCHEMA].off;
	schlen = pu.field_data[UF_SCHEMA].len;
	if (url_scheme_match(sch, schlen, "http"))
		memcpy(u->scheme, "http", 5);
	else if (url_scheme_match(sch, schlen, "https"))
		memcpy(u->scheme, "https", 6);
	else {
		*why = "scheme must be http or https";
		return -1;
	}
	if (URL_FIELD(&pu, UF_USERINFO)) {
		*why = "userinfo not allowed";
		return -1;
	}
	host = s + pu.field_data[UF_HOST].off;
	hostlen = pu.field_data[UF_HOST].len;
	if (hostlen == 0) {
		*why = "missing host";
		return -1;
	}
	if (hostlen >= sizeof(u->host)) {
		*why = "host too long";
		return -1;
	}
	for (i = 0; i < hostlen; i++)
		u->host[i] = (char)tolower((unsigned char)host[i]);
	u->host[hostlen] = '\0';
	if (URL_FIELD(&pu, UF_PORT)) {
		/* Port 0 is the named-target route (docs/protocol.md 2.5). */
		u->port = pu.port;
		u->has_port = true;
	} else
		u->port = u->scheme[4] == 's' ? 443 : 80;
	if (URL_FIELD(&pu, UF_PATH) && pu.field_data[UF_PATH].len > 0) {
		path = s + pu.field_data[UF_PATH].off;
		pathlen = pu.field_data[UF_PATH].len;
	}
	if (URL_FIELD(&pu, UF_QUERY) && pu.field_data[UF_QUERY].len > 0) {
		query = s + pu.field_data[UF_QUERY].off;
		qlen = pu.field_data[UF_QUERY].len;
	}
	n = pathlen + (query != NULL ? 1 + qlen : 0);
	if ((u->path_query = malloc(n + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(u->path_query, path, pathlen);
	if (query != NULL) {
		u->path_query[pathlen] = '?';
		memcpy(u->path_query + pathlen + 1, query, qlen);
	}
	u->path_query[n] = '\0';
	return 0;
}

void
url_release(struct url *u)
{
	free(u->path_query);
	u->path_query = NULL;
}

char *
url_resolve_name(const char *base, const char *name)
{
	const char	*auth, *p, *end, *slash = NULL;
	struct buf	 b;

	if ((auth = strstr(base, "://")) == NULL)
		return NULL;
	auth += 3;
	/* Path (if any) starts after the authority and ends at ? or #. */
	p = auth + strcspn(auth, "/?#");
	end = p + strcspn(p, "?#");
	for (const char *q = p; q < end; q++)
		if (*q == '/')
			slash = q;
	buf_init(&b, strlen(base) + strlen(name) + 2);
	if (slash == NULL) {
		if (buf_append(&b, base, (size_t)(p - base)) == -1 ||
		    buf_puts(&b, "/") == -1)
			goto fail;
	} else if (buf_append(&b, base, (size_t)(slash + 1 - base)) == -1)
		goto fail;
	if (buf_puts(&b, name) == -1)
		goto fail;
	return b.data;
fail:
	buf_release(&b);
	return NULL;
}

char *
url_strip_userinfo(const char *url)
{
	const char	*auth = strstr(url, "://"), *at;
	size_t		 alen;
	struct buf	 b;

	if (auth == NULL)
		return strdup(url);
	auth += 3;
	alen = strcspn(auth, "/?#");
	if ((at = memchr(auth, '@', alen)) == NULL)
		return strdup(url);
	buf_init(&b, strlen(url));
	if (buf_append(&b, url, (size_t)(auth - url)) == -1 ||
	    buf_puts(&b, at + 1) == -1) {
		buf_release(&b);
		return NULL;
	}
	return b.data;
}

bool
url_connectable(const struct url *u)
{
	return u->port != 0;
}
