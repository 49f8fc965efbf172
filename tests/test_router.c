/*
 * The proxy's dispatch without sockets (router_route): the target's form
 * first (absolute-form http/https is a scrape, whatever its path), then
 * the path (the query ignored) and the method, with the 400, 404 and 405
 * cases the router answers itself.
 */
#include <check.h>
#include <stddef.h>

#include "router.h"

static const struct {
	const char		*target;
	const char		*method;
	enum router_dest	 dest;
	const char		*allow;
} router_cases[] = {
	/* Absolute form: a scrape, even of a proxy path, any method. */
	{ "http://node1:9100/metrics", "GET", ROUTER_SCRAPE, NULL },
	{ "https://node1:9100/metrics", "GET", ROUTER_SCRAPE, NULL },
	{ "HTTP://node1/poll", "POST", ROUTER_SCRAPE, NULL },
	{ "HttpS://[::1]:9100/x?y=1", "HEAD", ROUTER_SCRAPE, NULL },
	{ "http://", "GET", ROUTER_SCRAPE, NULL },
	/* Origin form: the proxy's API. */
	{ "/poll", "POST", ROUTER_POLL, NULL },
	{ "/push", "POST", ROUTER_PUSH, NULL },
	{ "/clients", "GET", ROUTER_CLIENTS, NULL },
	{ "/metrics", "GET", ROUTER_METRICS, NULL },
	{ "/metrics?name[]=up", "GET", ROUTER_METRICS, NULL },
	{ "/poll?", "POST", ROUTER_POLL, NULL },
	/* A known path, another method: 405 naming the allowed one. */
	{ "/poll", "GET", ROUTER_BAD_METHOD, "POST" },
	{ "/push", "PUT", ROUTER_BAD_METHOD, "POST" },
	{ "/clients", "POST", ROUTER_BAD_METHOD, "GET" },
	{ "/metrics", "HEAD", ROUTER_BAD_METHOD, "GET" },
	{ "/metrics", "get", ROUTER_BAD_METHOD, "GET" },
	/* Probes and the status page (issue 12): GET and HEAD. */
	{ "/-/healthy", "GET", ROUTER_HEALTHY, NULL },
	{ "/-/healthy", "HEAD", ROUTER_HEALTHY, NULL },
	{ "/-/ready?x", "HEAD", ROUTER_READY, NULL },
	{ "/-/ready", "POST", ROUTER_BAD_METHOD, "GET, HEAD" },
	{ "/", "GET", ROUTER_STATUS, NULL },
	{ "/?page=2&q=node", "GET", ROUTER_STATUS, NULL },
	{ "/", "HEAD", ROUTER_STATUS, NULL },
	/* Unknown paths (exact match, case-sensitive): 404. */
	{ "/-/Ready", "GET", ROUTER_NOT_FOUND, NULL },
	{ "/pollx", "POST", ROUTER_NOT_FOUND, NULL },
	{ "/pol", "POST", ROUTER_NOT_FOUND, NULL },
	{ "/poll/", "POST", ROUTER_NOT_FOUND, NULL },
	{ "/Metrics", "GET", ROUTER_NOT_FOUND, NULL },
	{ "//metrics", "GET", ROUTER_NOT_FOUND, NULL },
	/* Neither a path nor an http(s) URL: 400. */
	{ "*", "OPTIONS", ROUTER_BAD_TARGET, NULL },
	{ "node1:9100", "CONNECT", ROUTER_BAD_TARGET, NULL },
	{ "ftp://node1/", "GET", ROUTER_BAD_TARGET, NULL },
	{ "http:/node1", "GET", ROUTER_BAD_TARGET, NULL },
	{ "", "GET", ROUTER_BAD_TARGET, NULL },
};

START_TEST(test_route)
{
	const char *allow = "unset";

	ck_assert_int_eq(router_route(router_cases[_i].target,
	    router_cases[_i].method, &allow), router_cases[_i].dest);
	if (router_cases[_i].allow == NULL)
		ck_assert_ptr_null(allow);
	else
		ck_assert_str_eq(allow, router_cases[_i].allow);
}
END_TEST

Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("router");

	tcase_add_loop_test(tc, test_route, 0,
	    (int)(sizeof(router_cases) / sizeof(router_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
