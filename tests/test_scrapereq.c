/*
 * Unit tests for the poll answer parser (client/scrapereq.c): the
 * reference proxy's scrape request, _scheme rewriting, the FQDN check,
 * the port and path --scrape.allow is checked on, the target timeout's
 * margin, and every way a request can be refused (with or without an Id
 * to answer it by).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "scrapereq.h"

#define FQDN		"node1.example"
#define DEF_TIMEOUT	15000

#define REF_ANSWER \
	"GET http://node1.example:9100/metrics HTTP/1.1\r\n" \
	"Host: node1.example:9100\r\n" \
	"User-Agent: Prometheus/2.42.0\r\n" \
	"Accept: application/openmetrics-text;version=1.0.0," \
	"application/openmetrics-text;version=0.0.1;q=0.75," \
	"text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n" \
	"Accept-Encoding: gzip\r\n" \
	"Id: 3f1c2a9e-6a0b-4d3e-9c1f-0b5a7d2e8c41\r\n" \
	"X-Prometheus-Scrape-Timeout-Seconds: 10\r\n" \
	"\r\n"

static struct scrapereq *
parse(const char *s)
{
	struct scrapereq *r = scrapereq_parse(s, strlen(s), FQDN, DEF_TIMEOUT);

	ck_assert_ptr_nonnull(r);
	return r;
}

/* Parses a request built from a URL line and extra headers. */
static struct scrapereq *
parsef(const char *method, const char *url, const char *headers)
{
	struct buf		 b;
	struct scrapereq	*r;

	buf_init(&b, 64 * 1024);
	ck_assert_int_eq(buf_printf(&b, "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n",
	    method, url, headers), 0);
	r = parse(b.data);
	buf_release(&b);
	return r;
}

static const char *
hdr(const struct scrapereq *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void
check_ref(struct scrapereq *r)
{
	ck_assert_msg(r->error == NULL, "error: %s", r->error);
	ck_assert_str_eq(r->id, "3f1c2a9e-6a0b-4d3e-9c1f-0b5a7d2e8c41");
	ck_assert_str_eq(r->url, "http://node1.example:9100/metrics");
	ck_assert_str_eq(r->target, "http://node1.example:9100/metrics");
	ck_assert_uint_eq(r->port, 9100);
	ck_assert_str_eq(r->path, "/metrics");
	ck_assert_int_eq(r->timeout_ms, 10000);
	ck_assert_uint_eq(r->nheaders, 4);
	ck_assert_str_eq(hdr(r, "User-Agent"), "Prometheus/2.42.0");
	ck_assert_str_eq(hdr(r, "Accept-Encoding"), "gzip");
	ck_assert_ptr_nonnull(strstr(hdr(r, "Accept"), "q=0.1"));
	ck_assert_str_eq(hdr(r, "X-Prometheus-Scrape-Timeout-Seconds"), "10");
	ck_assert_ptr_null(hdr(r, "Host"));
	ck_assert_ptr_null(hdr(r, "Id"));
}

START_TEST(test_reference_answer)
{
	struct scrapereq *r = parse(REF_ANSWER);

	check_ref(r);
	scrapereq_free(r);
}
END_TEST

/* Reads tests/data/<name> whole; caller frees. */
static char *
slurp(const char *name, size_t *len)
{
	const char	*dir = getenv("TEST_DATA_DIR");
	char		 path[1024];
	FILE		*f;
	char		*data;

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/data",
	    name);
	ck_assert_msg((f = fopen(path, "rb")) != NULL, "cannot open %s", path);
	data = calloc(1, 64 * 1024 + 1);
	ck_assert_ptr_nonnull(data);
	*len = fread(data, 1, 64 * 1024, f);
	fclose(f);
	return data;
}

START_TEST(test_reference_fixture)
{
	size_t		 len;
	char		*data = slurp("poll-answer-reference.txt", &len);
	struct scrapereq *r;

	ck_assert_int_eq(memcmp(data, REF_ANSWER, len), 0);
	r = scrapereq_parse(data, len, "NODE1.example", DEF_TIMEOUT);
	ck_assert_ptr_nonnull(r);
	check_ref(r);
	scrapereq_free(r);
	free(data);
}
END_TEST

START_TEST(test_scheme_https_and_hop_by_hop)
{
	size_t		 len;
	char		*data = slurp("poll-answer-https-hop.txt", &len);
	struct scrapereq *r = scrapereq_parse(data, len, FQDN, DEF_TIMEOUT);

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->error == NULL, "error: %s", r->error);
	ck_assert_str_eq(r->id, "0123456789abcdef");
	ck_assert_str_eq(r->url,
	    "https://node1.example:9100/metrics?module=x&target=y");
	ck_assert_int_eq(r->timeout_ms, 9500);
	ck_assert_str_eq(hdr(r, "User-Agent"), "Prometheus/2.42.0");
	ck_assert_str_eq(hdr(r, "Accept-Encoding"), "gzip");
	ck_assert_str_eq(hdr(r, "X-Prometheus-Scrape-Timeout-Seconds"), "9.5");
	ck_assert_uint_eq(r->nheaders, 3);
	scrapereq_free(r);
	free(data);
}
END_TEST

static const struct {
	const char	*in;
	const char	*out;
} scheme_cases[] = {
	{ "http://node1.example:9100/metrics?_scheme=https",
	  "https://node1.example:9100/metrics" },
	{ "http://node1.example/metrics?_scheme=https",
	  "https://node1.example/metrics" },
	{ "http://node1.example:9100/m?_scheme=http&a=1",
	  "http://node1.example:9100/m?a=1" },
	{ "http://node1.example:9100/m?a=1&_scheme=https",
	  "https://node1.example:9100/m?a=1" },
	{ "http://node1.example:9100/m?a=1&b=%20&c",
	  "http://node1.example:9100/m?a=1&b=%20&c" },
	{ "http://node1.example:9100/m?a=1&_scheme=https&_scheme=http&z=",
	  "https://node1.example:9100/m?a=1&z=" },
	{ "http://node1.example:9100/m?_schemex=1&x_scheme=https",
	  "http://node1.example:9100/m?_schemex=1&x_scheme=https" },
	{ "http://NODE1.EXAMPLE:9100/m", "http://node1.example:9100/m" },
	{ "http://node1.example", "http://node1.example/" },
};

START_TEST(test_scheme_rewrite)
{
	struct scrapereq *r = parsef("GET", scheme_cases[_i].in,
	    "Id: a\r\n");

	ck_assert_msg(r->error == NULL, "%s: %s", scheme_cases[_i].in,
	    r->error);
	ck_assert_str_eq(r->url, scheme_cases[_i].out);
	ck_assert_int_eq(r->timeout_ms, DEF_TIMEOUT);
	scrapereq_free(r);
}
END_TEST

/* Refused requests that still carry an Id (answerable with a 500). */
static const struct {
	const char	*method;
	const char	*url;
	const char	*headers;
	const char	*error;
} refused[] = {
	{ "GET", "http://node2.example:9100/metrics", "Id: a\r\n",
	  "scrape target host \"node2.example\" is not this client's FQDN "
	  "\"node1.example\"" },
	{ "GET", "http://127.0.0.1:22/", "Id: a\r\n",
	  "scrape target host \"127.0.0.1\" is not this client's FQDN "
	  "\"node1.example\"" },
	{ "POST", "http://node1.example:9100/metrics", "Id: a\r\n",
	  "scrape request method \"POST\" is not GET" },
	{ "GET", "http://node1.example:9100/metrics",
	  "Id: a\r\nX-Prometheus-Scrape-Timeout-Seconds: abc\r\n",
	  "scrape request has an invalid X-Prometheus-Scrape-Timeout-Seconds "
	  "\"abc\": not a positive number of seconds" },
	{ "GET", "http://node1.example:9100/metrics",
	  "Id: a\r\nX-Prometheus-Scrape-Timeout-Seconds: -1\r\n",
	  "scrape request has an invalid X-Prometheus-Scrape-Timeout-Seconds "
	  "\"-1\": not a positive number of seconds" },
	{ "GET", "http://node1.example:9100/metrics",
	  "Id: a\r\nX-Prometheus-Scrape-Timeout-Seconds: 0\r\n",
	  "scrape request has an invalid X-Prometheus-Scrape-Timeout-Seconds "
	  "\"0\": not a positive number of seconds" },
	{ "GET", "http://node1.example:9100/m?_scheme=ftp", "Id: a\r\n",
	  "scrape request parameter _scheme=\"ftp\" is neither http nor "
	  "https" },
	{ "GET", "/metrics", "Id: a\r\n",
	  "scrape request URL \"/metrics\" is not an absolute http(s) URL: "
	  "not an absolute http(s) URL" },
	{ "GET", "ftp://node1.example/metrics", "Id: a\r\n",
	  "scrape request URL \"ftp://node1.example/metrics\" is not an "
	  "absolute http(s) URL: scheme must be http or https" },
};

START_TEST(test_refused)
{
	struct scrapereq *r = parsef(refused[_i].method, refused[_i].url,
	    refused[_i].headers);

	ck_assert_ptr_nonnull(r->error);
	ck_assert_str_eq(r->error, refused[_i].error);
	ck_assert_str_eq(r->id, "a");
	ck_assert_int_eq(r->timeout_ms, DEF_TIMEOUT);
	scrapereq_free(r);
}
END_TEST

/* Unusable requests: no Id, nothing to answer. */
static const struct {
	const char	*body;
	const char	*error_prefix;
} unusable[] = {
	{ "GET http://node1.example:9100/metrics HTTP/1.1\r\n"
	  "Host: node1.example:9100\r\n\r\n",
	  "scrape request has no Id header" },
	{ "GET http://node1.example:9100/metrics HTTP/1.1\r\nId:\r\n\r\n",
	  "scrape request has no Id header" },
	{ "", "scrape request is empty" },
	{ "<html><body>502 Bad Gateway</body></html>\r\n",
	  "scrape request is not a valid HTTP request: " },
	{ "GET http://node1.example:9100/metrics HTTP/1.1\r\nId: a\r\n",
	  "scrape request is not a valid HTTP request: " },
	{ "GET http://node1.example:9100/metrics HTTP/1.1\r\nId: a\r\n"
	  "Bad Header\r\n\r\n",
	  "scrape request is not a valid HTTP request: " },
};

START_TEST(test_unusable)
{
	struct scrapereq *r = parse(unusable[_i].body);
	size_t		 n = strlen(unusable[_i].error_prefix);

	ck_assert_ptr_nonnull(r->error);
	ck_assert_msg(strncmp(r->error, unusable[_i].error_prefix, n) == 0,
	    "got \"%s\"", r->error);
	/* "...: " prefixes must be followed by the parser's reason. */
	if (unusable[_i].error_prefix[n - 1] == ' ')
		ck_assert_uint_gt(strlen(r->error), n);
	else
		ck_assert_str_eq(r->error, unusable[_i].error_prefix);
	ck_assert_ptr_null(r->id);
	scrapereq_free(r);
}
END_TEST

START_TEST(test_missing_id_has_no_id)
{
	struct scrapereq *r = parsef("GET", "http://node1.example:9100/m",
	    "Accept: */*\r\n");

	ck_assert_ptr_null(r->id);
	ck_assert_str_eq(r->error, "scrape request has no Id header");
	scrapereq_free(r);
}
END_TEST

START_TEST(test_hop_by_hop_dropped)
{
	struct scrapereq *r = parsef("GET", "http://node1.example:9100/m",
	    "Id: a\r\n"
	    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
	    "Connection: X-Drop-Me\r\n"
	    "X-Drop-Me: 1\r\n"
	    "Keep-Alive: timeout=5\r\n"
	    "Upgrade: websocket\r\n"
	    "TE: trailers\r\n"
	    "Proxy-Authenticate: Basic\r\n"
	    "Authorization: Bearer t\r\n"
	    "X-Empty:\r\n"
	    "Accept: text/plain\r\n");

	ck_assert_msg(r->error == NULL, "error: %s", r->error);
	ck_assert_ptr_null(hdr(r, "Proxy-Authorization"));
	ck_assert_ptr_null(hdr(r, "Proxy-Authenticate"));
	ck_assert_ptr_null(hdr(r, "Connection"));
	ck_assert_ptr_null(hdr(r, "X-Drop-Me"));
	ck_assert_ptr_null(hdr(r, "Keep-Alive"));
	ck_assert_ptr_null(hdr(r, "Upgrade"));
	ck_assert_ptr_null(hdr(r, "TE"));
	ck_assert_ptr_null(hdr(r, "Host"));
	ck_assert_str_eq(hdr(r, "Authorization"), "Bearer t");
	ck_assert_str_eq(hdr(r, "X-Empty"), "");
	ck_assert_str_eq(hdr(r, "Accept"), "text/plain");
	ck_assert_uint_eq(r->nheaders, 3);
	scrapereq_free(r);
}
END_TEST

START_TEST(test_fractional_timeout)
{
	struct scrapereq *r = parsef("GET", "http://node1.example:9100/m",
	    "Id: a\r\nX-Prometheus-Scrape-Timeout-Seconds: 0.25\r\n");

	ck_assert_msg(r->error == NULL, "error: %s", r->error);
	ck_assert_int_eq(r->timeout_ms, 250);
	scrapereq_free(r);
}
END_TEST

START_TEST(test_go_fixture)
{
	size_t		 len;
	char		*tmpl = slurp("go_poll_answer.http", &len);
	struct buf	 b;
	struct scrapereq *r;

	/* Fill the @TARGET@ and @ID@ placeholders. */
	buf_init(&b, 128 * 1024);
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (strncmp(p, "@TARGET@", 8) == 0) {
			ck_assert_int_eq(buf_puts(&b, "node1.example:9100"), 0);
			p += 7;
		} else if (strncmp(p, "@ID@", 4) == 0) {
			ck_assert_int_eq(buf_puts(&b, "id-1"), 0);
			p += 3;
		} else
			ck_assert_int_eq(buf_append(&b, p, 1), 0);
	}
	r = scrapereq_parse(b.data, b.len, FQDN, DEF_TIMEOUT);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->error == NULL, "error: %s", r->error);
	ck_assert_str_eq(r->id, "id-1");
	ck_assert_str_eq(r->url, "http://node1.example:9100/metrics");
	ck_assert_int_eq(r->timeout_ms, 10000);
	scrapereq_free(r);
	buf_release(&b);
	free(tmpl);
}
END_TEST

/* The port and path --scrape.allow sees: effective scheme, no query. */
static const struct {
	const char	*url;
	unsigned	 port;
	const char	*path;
} port_path_cases[] = {
	{ "http://node1.example:9100/metrics", 9100, "/metrics" },
	{ "http://node1.example/metrics", 80, "/metrics" },
	{ "http://node1.example/metrics?_scheme=https", 443, "/metrics" },
	{ "http://node1.example:8443/m?_scheme=https&a=1", 8443, "/m" },
	{ "http://node1.example:9115/probe?target=x&module=y", 9115,
	  "/probe" },
	{ "http://node1.example", 80, "/" },
	{ "http://node1.example:22/?x", 22, "/" },
	{ "http://node1.example:9100/a%20b/c", 9100, "/a%20b/c" },
	{ "http://node1.example:9100/m#frag", 9100, "/m" },
};

START_TEST(test_port_path)
{
	struct scrapereq *r = parsef("GET", port_path_cases[_i].url,
	    "Id: a\r\n");

	ck_assert_msg(r->error == NULL, "%s: %s", port_path_cases[_i].url,
	    r->error);
	ck_assert_uint_eq(r->port, port_path_cases[_i].port);
	ck_assert_str_eq(r->path, port_path_cases[_i].path);
	scrapereq_free(r);
}
END_TEST

START_TEST(test_refused_has_no_path)
{
	struct scrapereq *r = parsef("GET", "http://node2.example:9100/m",
	    "Id: a\r\n");

	ck_assert_ptr_nonnull(r->error);
	ck_assert_ptr_null(r->url);
	ck_assert_ptr_null(r->path);
	scrapereq_free(r);
}
END_TEST

static const struct {
	int64_t	 in;
	int64_t	 out;
} margin_cases[] = {
	{ 15000, 14500 },	/* 500 ms cap */
	{ 10000, 9500 },
	{ 5000, 4500 },
	{ 4000, 3600 },		/* 10 % */
	{ 1000, 900 },
	{ 250, 225 },
	{ 100, 90 },
	{ 9, 9 },
	{ 1, 1 },
	{ 0, 1 },
	{ 300000, 299500 },
};

START_TEST(test_target_timeout)
{
	ck_assert_int_eq(scrapereq_target_timeout(margin_cases[_i].in),
	    margin_cases[_i].out);
}
END_TEST

START_TEST(test_free_null)
{
	scrapereq_free(NULL);
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* A redirect from FROM to a location, under a policy: followed or not. */
#define FROM	"http://node1.example:9100/metrics"

static const struct redirect_case {
	const char	*location;	/* absolute, as curl resolved it */
	int		 policy;
	const char	*want;		/* URL to fetch, or NULL: refused */
	uint16_t	 port;
	const char	*path;
} redirect_cases[] = {
	/* Same origin: path and query may change, nothing else. */
	{ "http://node1.example:9100/m2?x=1",
	  SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  "http://node1.example:9100/m2?x=1", 9100, "/m2" },
	{ "http://NODE1.example:9100/", SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  "http://node1.example:9100/", 9100, "/" },
	{ "http://node1.example:9100/a#frag", SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  "http://node1.example:9100/a", 9100, "/a" },
	{ "http://node1.example:9101/", SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  NULL, 0, NULL },
	{ "http://node2.example:9100/", SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  NULL, 0, NULL },
	{ "https://node1.example:9100/", SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  NULL, 0, NULL },
	{ "http://node1.example/", SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  NULL, 0, NULL },
	{ "http://127.0.0.1:9100/", SCRAPEREQ_REDIRECTS_SAME_ORIGIN,
	  NULL, 0, NULL },
	/* Userinfo could hide the host from a reader: refused. */
	{ "http://node1.example:9100@evil.example/",
	  SCRAPEREQ_REDIRECTS_SAME_ORIGIN, NULL, 0, NULL },
	{ "http://x@node1.example:9100/", SCRAPEREQ_REDIRECTS_ANY,
	  NULL, 0, NULL },
	{ "ftp://node1.example:9100/", SCRAPEREQ_REDIRECTS_ANY, NULL, 0, NULL },
	{ "file:///etc/passwd", SCRAPEREQ_REDIRECTS_ANY, NULL, 0, NULL },
	{ "/relative", SCRAPEREQ_REDIRECTS_ANY, NULL, 0, NULL },
	/* Port 0 is the named-target route: never a hop. */
	{ "http://node1.example:0/", SCRAPEREQ_REDIRECTS_ANY, NULL, 0, NULL },
	{ "", SCRAPEREQ_REDIRECTS_ANY, NULL, 0, NULL },
	/* none: nothing. */
	{ "http://node1.example:9100/m2", SCRAPEREQ_REDIRECTS_NONE,
	  NULL, 0, NULL },
	/* any: another host and port, with its default port. */
	{ "https://node2.example/x?y", SCRAPEREQ_REDIRECTS_ANY,
	  "https://node2.example/x?y", 443, "/x" },
	{ "http://[::1]:8080/p", SCRAPEREQ_REDIRECTS_ANY,
	  "http://[::1]:8080/p", 8080, "/p" },
};

START_TEST(test_redirect)
{
	const struct redirect_case	*c = &redirect_cases[_i];
	struct scrapereq_hop		 hop;
	const char			*why = NULL;
	int				 rv;

	rv = scrapereq_redirect(FROM, c->location, c->policy, &hop, &why);
	if (c->want == NULL) {
		ck_assert_msg(rv == -1, "%s followed", c->location);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_null(hop.url);
		return;
	}
	ck_assert_msg(rv == 0, "%s refused: %s", c->location, why);
	ck_assert_str_eq(hop.url, c->want);
	ck_assert_uint_eq(hop.port, c->port);
	ck_assert_str_eq(hop.path, c->path);
	scrapereq_hop_release(&hop);
	ck_assert_ptr_null(hop.url);
}
END_TEST

START_TEST(test_redirect_statuses)
{
	static const long	 yes[] = { 301, 302, 303, 307, 308 };
	static const long	 no[] = { 200, 300, 304, 305, 306, 309, 399 };

	for (int i = 0; i < NELEM(yes); i++)
		ck_assert(scrapereq_is_redirect(yes[i]));
	for (int i = 0; i < NELEM(no); i++)
		ck_assert(!scrapereq_is_redirect(no[i]));
	ck_assert_str_eq(scrapereq_redirects_names[SCRAPEREQ_REDIRECTS_ANY],
	    "any");
}
END_TEST

/* Port 0: the named-target route (docs/protocol.md 2.5). */
static const struct {
	const char	*url;
	const char	*name;		/* NULL: refused */
	int		 status;	/* of a refusal */
} named_cases[] = {
	{ "http://node1.example:0/pushprox/targets/node/metrics", "node", 0 },
	{ "http://NODE1.example:0/pushprox/targets/a.b-c_d/metrics",
	  "a.b-c_d", 0 },
	{ "http://node1.example:0/pushprox/targets/node/metrics?x=1", NULL,
	  404 },
	{ "http://node1.example:0/pushprox/targets/node/metrics?_scheme=https",
	  NULL, 404 },
	{ "http://node1.example:0/metrics", NULL, 404 },
	{ "http://node1.example:0/pushprox/targets//metrics", NULL, 404 },
	{ "http://node1.example:0/pushprox/targets/a/b/metrics", NULL, 404 },
	{ "http://node1.example:0/pushprox/targets/../metrics", NULL, 404 },
	{ "http://node1.example:0/pushprox/targets/%41/metrics", NULL, 404 },
	{ "http://node1.example:0/pushprox/targets/node/metrics/", NULL, 404 },
	{ "http://node1.example:0/", NULL, 404 },
	/* The FQDN check comes first: not ours is a 500 as before. */
	{ "http://node2.example:0/pushprox/targets/node/metrics", NULL, 500 },
};

START_TEST(test_named)
{
	struct scrapereq *r = parsef("GET", named_cases[_i].url, "Id: a\r\n");

	if (named_cases[_i].name == NULL) {
		ck_assert_msg(r->error != NULL, "%s accepted",
		    named_cases[_i].url);
		ck_assert_int_eq(r->error_status, named_cases[_i].status);
		ck_assert_ptr_null(r->name);
		if (named_cases[_i].status == 404)
			ck_assert_ptr_nonnull(strstr(r->error,
			    "/pushprox/targets/NAME/metrics"));
	} else {
		ck_assert_msg(r->error == NULL, "%s: %s", named_cases[_i].url,
		    r->error);
		ck_assert_str_eq(r->name, named_cases[_i].name);
		ck_assert_uint_eq(r->port, 0);
		ck_assert_str_eq(r->url, named_cases[_i].url);
		ck_assert_str_eq(r->id, "a");
	}
	scrapereq_free(r);
}
END_TEST

/* A plain scrape has no name, and its errors are 500s. */
START_TEST(test_plain_not_named)
{
	struct scrapereq *r = parse(REF_ANSWER);

	ck_assert_ptr_null(r->error);
	ck_assert_ptr_null(r->name);
	ck_assert_uint_eq(r->port, 9100);
	scrapereq_free(r);
	r = parsef("POST", "http://node1.example:9100/metrics", "Id: a\r\n");
	ck_assert_int_eq(r->error_status, 500);
	scrapereq_free(r);
}
END_TEST

Suite *
scrapereq_suite(void)
{
	Suite	*s = suite_create("scrapereq");
	TCase	*tc = tcase_create("parse");

	tcase_add_test(tc, test_reference_answer);
	tcase_add_test(tc, test_reference_fixture);
	tcase_add_test(tc, test_scheme_https_and_hop_by_hop);
	tcase_add_loop_test(tc, test_scheme_rewrite, 0, NELEM(scheme_cases));
	tcase_add_loop_test(tc, test_refused, 0, NELEM(refused));
	tcase_add_loop_test(tc, test_unusable, 0, NELEM(unusable));
	tcase_add_test(tc, test_missing_id_has_no_id);
	tcase_add_test(tc, test_hop_by_hop_dropped);
	tcase_add_test(tc, test_fractional_timeout);
	tcase_add_test(tc, test_go_fixture);
	tcase_add_loop_test(tc, test_port_path, 0, NELEM(port_path_cases));
	tcase_add_test(tc, test_refused_has_no_path);
	tcase_add_loop_test(tc, test_target_timeout, 0, NELEM(margin_cases));
	tcase_add_test(tc, test_free_null);
	tcase_add_loop_test(tc, test_redirect, 0, NELEM(redirect_cases));
	tcase_add_test(tc, test_redirect_statuses);
	tcase_add_loop_test(tc, test_named, 0, NELEM(named_cases));
	tcase_add_test(tc, test_plain_not_named);
	suite_add_tcase(s, tc);
	return s;
}
