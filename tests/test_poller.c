/*
 * Unit tests for the client's poll loop (client/poller.c) without a
 * network: the back-off after failed polls (poller_next_backoff: the first
 * wait is initial-wait, each next one 1.5 times longer, capped at
 * max-wait, back to initial-wait after a success) over a table of flag
 * values, and the poller's life cycle (new, stop, free; free(NULL)) with
 * nothing sent.  The +-20% jitter is applied inside the static
 * poller_backoff and is covered by the integration tests only.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client/client.h"
#include "client/config.h"	/* not proxy/config.h */
#include "client/poller.h"

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* The smallest value the --proxy.retry.* flags accept (client/config.c). */
#define FLAG_MIN_MS	10
#define HOUR_MS		(3600 * 1000)

/* Bound on the steps of any back-off walk below. */
#define MAX_STEPS	200

/* A back-off sequence from the first failure, as the poller walks it. */
static const struct walk {
	int64_t	 initial, max;
	int64_t	 want[8];	/* 0 ends the list */
} walks[] = {
	/* The defaults: 1s then x1.5 up to 5s. */
	{ 1000, 5000, { 1000, 1500, 2250, 3375, 5000, 5000, 5000 } },
	/* The integration tests' flags: 100ms up to 500ms. */
	{ 100, 500, { 100, 150, 225, 337, 500, 500 } },
	/* The smallest flag values: still grows (10 + 10/2 = 15). */
	{ FLAG_MIN_MS, 40, { 10, 15, 22, 33, 40, 40 } },
	/* initial == max: flat from the first failure. */
	{ 2000, 2000, { 2000, 2000, 2000 } },
	/* Odd values: integer steps, rounding down. */
	{ 333, 100000, { 333, 499, 748, 1122, 1683, 2524, 3786, 5679 } },
};

START_TEST(test_walk)
{
	const struct walk	*w = &walks[_i];
	int64_t			 prev = 0;

	for (int k = 0; k < NELEM(w->want) && w->want[k] != 0; k++) {
		prev = poller_next_backoff(prev, w->initial, w->max);
		ck_assert_msg(prev == w->want[k],
		    "initial %lld max %lld step %d: got %lld, want %lld",
		    (long long)w->initial, (long long)w->max, k,
		    (long long)prev, (long long)w->want[k]);
	}
}
END_TEST

/* Flag values the client accepts: (initial, max) with initial <= max. */
static const int64_t bounds[][2] = {
	{ FLAG_MIN_MS, FLAG_MIN_MS }, { FLAG_MIN_MS, HOUR_MS },
	{ 100, 500 }, { 1000, 5000 }, { 7, 8 },
	/* Below the flags' minimum: 1 + 1/2 stays 1 (bounded, never capped). */
	{ 1, 3 },
	{ HOUR_MS, HOUR_MS }, { 999, 1000 },
};

/*
 * Every wait lies in [initial, max], never shrinks, and reaches max in a
 * bounded number of failures (x1.5 per step: about 40 steps from 10ms to
 * an hour), then stays there.
 */
START_TEST(test_growth_bounded_and_capped)
{
	int64_t	 initial = bounds[_i][0], max = bounds[_i][1];
	int64_t	 prev = 0, next;
	int	 steps;

	for (steps = 0; steps < MAX_STEPS; steps++) {
		next = poller_next_backoff(prev, initial, max);
		ck_assert_int_ge(next, initial);
		ck_assert_int_le(next, max);
		ck_assert_int_ge(next, prev);
		if (next == max)
			break;
		/* Strictly longer each time until the cap (from 2ms up). */
		if (prev >= 2)
			ck_assert_int_gt(next, prev);
		prev = next;
	}
	if (initial >= 2)
		ck_assert_msg(steps < MAX_STEPS, "initial %lld max %lld: "
		    "not capped after %d failures", (long long)initial,
		    (long long)max, MAX_STEPS);
	if (steps < MAX_STEPS) {
		/* Once at the cap, it stays there. */
		for (int k = 0; k < 5; k++)
			ck_assert_int_eq(poller_next_backoff(max, initial, max),
			    max);
	}
}
END_TEST

/* A success sets the last wait to 0: the next failure waits initial. */
START_TEST(test_reset_after_success)
{
	int64_t	 prev = 0;

	for (int k = 0; k < 10; k++)
		prev = poller_next_backoff(prev, 100, 500);
	ck_assert_int_eq(prev, 500);
	prev = 0;	/* what poller_answer and poller_again store */
	ck_assert_int_eq(poller_next_backoff(prev, 100, 500), 100);
	/* A negative last wait counts as none (never stored, but safe). */
	ck_assert_int_eq(poller_next_backoff(-1, 100, 500), 100);
	ck_assert_int_eq(poller_next_backoff(INT64_MIN, 100, 500), 100);
}
END_TEST

/*
 * Values config_load refuses (initial above max), or a last wait above
 * the cap (max-wait lowered): the cap wins, nothing overflows.
 */
START_TEST(test_cap_wins)
{
	ck_assert_int_eq(poller_next_backoff(0, 5000, 1000), 1000);
	ck_assert_int_eq(poller_next_backoff(9000, 100, 1000), 1000);
	ck_assert_int_eq(poller_next_backoff(HOUR_MS, 100, HOUR_MS), HOUR_MS);
	/* The largest last wait that x1.5 cannot overflow. */
	ck_assert_int_eq(poller_next_backoff(INT64_MAX / 2, 100, HOUR_MS),
	    HOUR_MS);
}
END_TEST

/* A context with just what poller_new reads: the event base and cfg. */
struct fixture {
	struct event_base	*base;
	struct client_config	 cfg;
	struct client		 c;
};

static void
fixture_init(struct fixture *f, char *auth_header)
{
	memset(f, 0, sizeof(*f));
	ck_assert_ptr_nonnull(f->base = event_base_new());
	f->cfg.retry_initial_ms = 100;
	f->cfg.retry_max_ms = 500;
	f->cfg.auth_header = auth_header;
	f->c.base = f->base;
	f->c.cfg = &f->cfg;
}

/* new, stop, stop again, free: no poll is ever sent, nothing leaks. */
START_TEST(test_lifecycle_without_start)
{
	struct fixture	 f;
	struct poller	*p;
	char		 auth[] = "Authorization: Bearer t0k3n";

	fixture_init(&f, _i == 0 ? NULL : auth);
	ck_assert_ptr_nonnull(p = poller_new(&f.c));
	poller_stop(p);
	poller_stop(p);		/* stopping twice is harmless */
	poller_free(p);
	/* Nothing left armed on the base: the loop has no events. */
	ck_assert_int_eq(event_base_loop(f.base, EVLOOP_NONBLOCK), 1);
	event_base_free(f.base);
}
END_TEST

START_TEST(test_free_null)
{
	poller_free(NULL);
}
END_TEST

Suite *
poller_suite(void)
{
	Suite	*s = suite_create("poller");
	TCase	*tc = tcase_create("backoff");
	TCase	*lc = tcase_create("lifecycle");

	tcase_add_loop_test(tc, test_walk, 0, NELEM(walks));
	tcase_add_loop_test(tc, test_growth_bounded_and_capped, 0,
	    NELEM(bounds));
	tcase_add_test(tc, test_reset_after_success);
	tcase_add_test(tc, test_cap_wins);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(lc, test_lifecycle_without_start, 0, 2);
	tcase_add_test(lc, test_free_null);
	suite_add_tcase(s, lc);
	return s;
}
