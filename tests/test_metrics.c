/* Unit tests for the metrics registry and exposition (common/metrics.c). */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushprox_limits.h"
#include "metrics.h"
#include "testlog.h"

#define DROPPED_FAMILY \
	"# HELP pushprox_metrics_series_dropped_total Series not created " \
	"because their family was at its limit.\n" \
	"# TYPE pushprox_metrics_series_dropped_total counter\n"

/* The exposition; the caller frees the buffer. */
static void
metrics_test_write(struct metrics *reg, struct buf *out)
{
	buf_init(out, 1 << 24);
	ck_assert_int_eq(metrics_write(reg, out), 0);
}

START_TEST(test_metrics_counter_labels)
{
	struct metrics *reg = metrics_new();
	struct metric *c, *g;
	struct buf out;

	c = metrics_add(reg, METRIC_COUNTER, "pushprox_scrapes_total",
	    "Scrapes relayed.", "fqdn,code", NULL, 0);
	g = metrics_add(reg, METRIC_GAUGE, "pushprox_clients", "Clients.",
	    NULL, NULL, 0);
	metric_add(c, 1, "node2", "200");
	metric_add(c, 2, "node1", "200");
	metric_add(c, 1, "node2", "200");
	metric_add(c, 0.25, "node1", "504");
	/* Ignored: counters only go up. */
	metric_add(c, -5, "node1", "504");
	metric_set(g, 1e6);
	metric_add(g, -1);
	ck_assert(metric_value(c, "node2", "200") == 2);
	ck_assert(metric_value(c, "node1", "504") == 0.25);
	ck_assert(metric_value(c, "node3", "200") == 0);
	ck_assert(metric_value(g) == 999999);
	metrics_test_write(reg, &out);
	ck_assert_str_eq(buf_cstr(&out),
	    "# HELP pushprox_scrapes_total Scrapes relayed.\n"
	    "# TYPE pushprox_scrapes_total counter\n"
	    "pushprox_scrapes_total{fqdn=\"node2\",code=\"200\"} 2\n"
	    "pushprox_scrapes_total{fqdn=\"node1\",code=\"200\"} 2\n"
	    "pushprox_scrapes_total{fqdn=\"node1\",code=\"504\"} 0.25\n"
	    "# HELP pushprox_clients Clients.\n"
	    "# TYPE pushprox_clients gauge\n"
	    "pushprox_clients 999999\n"
	    DROPPED_FAMILY
	    "pushprox_metrics_series_dropped_total 0\n");
	buf_release(&out);
	/* metric_value must not have created node3. */
	ck_assert(metric_value(c, "node3", "200") == 0);
	metrics_free(reg);
	metrics_free(NULL);
}
END_TEST

START_TEST(test_metrics_histogram)
{
	static const double b[] = { 0.005, 0.1, 1, 2.5 };
	struct metrics *reg = metrics_new();
	struct metric *h;
	struct buf out;

	h = metrics_add(reg, METRIC_HISTOGRAM, "req_seconds", "Latency.",
	    "path", b, 4);
	metric_observe(h, 0.005, "/a");
	metric_observe(h, 0.05, "/a");
	metric_observe(h, 2, "/a");
	metric_observe(h, 100, "/a");
	metric_observe(h, 1, "/b");
	ck_assert(metric_value(h, "/a") == 4);
	metrics_test_write(reg, &out);
	ck_assert_str_eq(buf_cstr(&out),
	    "# HELP req_seconds Latency.\n"
	    "# TYPE req_seconds histogram\n"
	    "req_seconds_bucket{path=\"/a\",le=\"0.005\"} 1\n"
	    "req_seconds_bucket{path=\"/a\",le=\"0.1\"} 2\n"
	    "req_seconds_bucket{path=\"/a\",le=\"1\"} 2\n"
	    "req_seconds_bucket{path=\"/a\",le=\"2.5\"} 3\n"
	    "req_seconds_bucket{path=\"/a\",le=\"+Inf\"} 4\n"
	    "req_seconds_sum{path=\"/a\"} 102.055\n"
	    "req_seconds_count{path=\"/a\"} 4\n"
	    "req_seconds_bucket{path=\"/b\",le=\"0.005\"} 0\n"
	    "req_seconds_bucket{path=\"/b\",le=\"0.1\"} 0\n"
	    "req_seconds_bucket{path=\"/b\",le=\"1\"} 1\n"
	    "req_seconds_bucket{path=\"/b\",le=\"2.5\"} 1\n"
	    "req_seconds_bucket{path=\"/b\",le=\"+Inf\"} 1\n"
	    "req_seconds_sum{path=\"/b\"} 1\n"
	    "req_seconds_count{path=\"/b\"} 1\n"
	    DROPPED_FAMILY
	    "pushprox_metrics_series_dropped_total 0\n");
	buf_release(&out);
	metrics_free(reg);
}
END_TEST

START_TEST(test_metrics_unlabeled_histogram)
{
	static const double b[] = { 1 };
	struct metrics *reg = metrics_new();
	struct metric *h;
	struct buf out;

	h = metrics_add(reg, METRIC_HISTOGRAM, "h", "H.", NULL, b, 1);
	metrics_test_write(reg, &out);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\n"
	    "h_count 0\n"));
	buf_release(&out);
	metric_observe(h, 3);
	ck_assert(metric_value(h) == 1);
	metrics_free(reg);
}
END_TEST

START_TEST(test_metrics_escaping)
{
	struct metrics *reg = metrics_new();
	struct metric *g;
	struct buf out;

	g = metrics_add(reg, METRIC_GAUGE, "esc", "Back\\slash and\nnewline "
	    "\"quoted\".", "v", NULL, 0);
	metric_set(g, 1.5, "a\\b\"c\nd");
	metric_set(g, -2, "bad\xff\xc3utf8\xe2\x82\xac");
	metric_set(g, NAN, "");
	metric_set(g, INFINITY, NULL);	/* NULL is "": same series */
	metric_set(g, -INFINITY, "x");
	metric_set(g, 1.5e-7, "y");
	metric_set(g, 123456789.5, "z");
	metrics_test_write(reg, &out);
	ck_assert_str_eq(buf_cstr(&out),
	    "# HELP esc Back\\\\slash and\\nnewline \"quoted\".\n"
	    "# TYPE esc gauge\n"
	    "esc{v=\"a\\\\b\\\"c\\nd\"} 1.5\n"
	    "esc{v=\"bad\xef\xbf\xbd\xef\xbf\xbdutf8\xe2\x82\xac\"} -2\n"
	    "esc{v=\"\"} +Inf\n"
	    "esc{v=\"x\"} -Inf\n"
	    "esc{v=\"y\"} 1.5e-07\n"
	    "esc{v=\"z\"} 123456789.5\n"
	    DROPPED_FAMILY
	    "pushprox_metrics_series_dropped_total 0\n");
	metric_set(g, NAN, "");
	buf_reset(&out);
	ck_assert_int_eq(metrics_write(reg, &out), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "esc{v=\"\"} NaN\n"));
	buf_release(&out);
	metrics_free(reg);
}
END_TEST

START_TEST(test_metrics_series_cap)
{
	struct metrics *reg = metrics_new();
	struct metric *c, *other;
	struct buf out;
	char v[32];
	size_t i, lines = 0;
	const char *p;

	c = metrics_add(reg, METRIC_COUNTER, "capped_total", "Capped.",
	    "fqdn", NULL, 0);
	other = metrics_add(reg, METRIC_COUNTER, "other_total", "Other.",
	    "fqdn", NULL, 0);
	for (i = 0; i < LIMIT_MAX_METRIC_SERIES + 5; i++) {
		snprintf(v, sizeof(v), "n%zu", i);
		metric_add(c, 1, v);
	}
	/* Existing series still count; new ones are dropped each time. */
	metric_add(c, 1, "n0");
	metric_add(c, 1, "n999999");
	metric_add(other, 1, "fresh");
	ck_assert(metric_value(c, "n0") == 2);
	ck_assert(metric_value(c, "n999") == 1);
	ck_assert(metric_value(c, "n1000") == 0);
	ck_assert(metric_value(other, "fresh") == 1);
	metrics_test_write(reg, &out);
	for (p = buf_cstr(&out); (p = strstr(p, "capped_total{")) != NULL;
	    p++)
		lines++;
	ck_assert_uint_eq(lines, LIMIT_MAX_METRIC_SERIES);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "\npushprox_metrics_series_dropped_total 6\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "other_total{fqdn=\"fresh\"} 1\n"));
	buf_release(&out);
	metrics_free(reg);
}
END_TEST

START_TEST(test_metrics_write_full)
{
	struct metrics *reg = metrics_new();
	struct buf out;

	metrics_add(reg, METRIC_GAUGE, "g", "G.", NULL, NULL, 0);
	buf_init(&out, 20);
	ck_assert_int_eq(metrics_write(reg, &out), -1);
	buf_release(&out);
	metrics_free(reg);
}
END_TEST

static double
metrics_test_cb(void *arg)
{
	return *(double *)arg;
}

START_TEST(test_metrics_callbacks)
{
	struct metrics *reg = metrics_new();
	struct buf out;
	double v = 42.5, c = 3;

	metrics_add_gauge_cb(reg, "cb_gauge", "From a callback.",
	    metrics_test_cb, &v);
	metrics_add_counter_cb(reg, "cb_total", "A counting callback.",
	    metrics_test_cb, &c);
	metrics_test_write(reg, &out);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "# TYPE cb_gauge gauge\ncb_gauge 42.5\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "# TYPE cb_total counter\ncb_total 3\n"));
	v = 7;
	buf_reset(&out);
	ck_assert_int_eq(metrics_write(reg, &out), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\ncb_gauge 7\n"));
	buf_release(&out);
	metrics_free(reg);
}
END_TEST

START_TEST(test_metrics_duplicate_name)
{
	struct metrics *reg = metrics_new();

	test_expect_log(LOG_LEVEL_ERROR, "duplicate metric name");
	metrics_add(reg, METRIC_GAUGE, "dup", "D.", NULL, NULL, 0);
	metrics_add(reg, METRIC_GAUGE, "dup", "D.", NULL, NULL, 0);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_metrics_counter_labels);
	tcase_add_test(tc, test_metrics_histogram);
	tcase_add_test(tc, test_metrics_unlabeled_histogram);
	tcase_add_test(tc, test_metrics_escaping);
	tcase_add_test(tc, test_metrics_series_cap);
	tcase_add_test(tc, test_metrics_write_full);
	tcase_add_test(tc, test_metrics_callbacks);
	tcase_add_test_raise_signal(tc, test_metrics_duplicate_name, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
