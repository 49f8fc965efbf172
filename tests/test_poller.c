/*
 * Unit tests for the client's poll loop (client/poller.c) without a
 * network: the back-off after failed polls (poller_next_backoff: the first
 * wait is initial-wait, each next one 1.5 times longer, capped at
 * max-wait, back to initial-wait after a success) over a table of flag
 * values, the poller's life cycle (new, stop, free; free(NULL)) with
 * nothing sent, and the per-proxy advertisement state machine of
 * client/advertise.c (docs/protocol.md 2.2) over tables of event
 * sequences: which tag a poll carries, when the advertisement is sent,
 * how each answer to POST /advertise is classified.  The +-20% jitter is
 * applied inside the static poller_backoff and is covered by the
 * integration tests only, as are the transfers (tests/test_multiproxy.py).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client/advertise.h"
#include "client/client.h"
#include "client/config.h"	/* not proxy/config.h */
#include "client/poller.h"
#include "metrics.h"

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

/* A context with just what poller_new reads: base, cfg, the up gauge. */
struct fixture {
	struct event_base	*base;
	struct client_config	 cfg;
	struct config_proxy	 px;
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
	f->px.url_log = "http://proxy.example:8080/";
	f->c.base = f->base;
	f->c.cfg = &f->cfg;
	ck_assert_ptr_nonnull(f->c.metrics = metrics_new());
	f->c.m.proxy_up = metrics_add(f->c.metrics, METRIC_GAUGE,
	    "pushprox_client_proxy_up", "test", "proxy", NULL, 0);
}

/* new, stop, stop again, free: no poll is ever sent, nothing leaks. */
START_TEST(test_lifecycle_without_start)
{
	struct fixture	 f;
	struct poller	*p;
	char		 auth[] = "Authorization: Bearer t0k3n";

	fixture_init(&f, _i == 0 ? NULL : auth);
	ck_assert_ptr_nonnull(p = poller_new(&f.c, &f.px));
	ck_assert_ptr_eq(poller_proxy(p), &f.px);
	ck_assert(!poller_up(p));
	ck_assert(!poller_polling(p));
	/* The gauge exists from the start, at 0. */
	ck_assert(metric_value(f.c.m.proxy_up, f.px.url_log) == 0.0);
	poller_advert_changed(p);	/* nothing to advertise: no-op */
	poller_stop(p);
	poller_stop(p);		/* stopping twice is harmless */
	poller_advert_changed(p);	/* stopped: no-op */
	poller_free(p);
	/* Nothing left armed on the base: the loop has no events. */
	ck_assert_int_eq(event_base_loop(f.base, EVLOOP_NONBLOCK), 1);
	metrics_free(f.c.metrics);
	event_base_free(f.base);
}
END_TEST

START_TEST(test_free_null)
{
	poller_free(NULL);
}
END_TEST

/*
 * The advertisement state machine, one proxy, driven by a script of
 * events; after each step the state and the tag the next poll carries
 * are checked, and for "asked" and "changed" whether to send now.
 */
enum ev {
	EV_END,
	EV_ASKED,	/* 204 + Pushprox-Advertise: required */
	EV_STORED,	/* POST /advertise answered 2xx */
	EV_NOT_FOUND,	/* 404 */
	EV_REFUSED,	/* 400/413/415 */
	EV_FAILED,	/* network error, 5xx, 401... */
	EV_CHANGE_B,	/* the set changed: tag "b" */
	EV_CHANGE_NONE,	/* nothing to advertise any more */
};

struct step {
	enum ev			 ev;
	bool			 send;		/* asked/changed: send now */
	enum advertise_state	 state;		/* after the event */
	const char		*poll_tag;	/* what the next poll carries */
};

static const struct script {
	const char	*name;
	const char	*tag0;		/* the client's tag at start */
	struct step	 steps[8];
} scripts[] = {
	{ "plain client: no tag, never sends", NULL, {
		{ EV_ASKED, false, ADVERTISE_UNKNOWN, NULL },
		{ EV_CHANGE_B, false, ADVERTISE_UNKNOWN, "b" },
	} },
	{ "our proxy: asked, stored, polls carry the tag", "a", {
		{ EV_ASKED, true, ADVERTISE_ASKED, "a" },
		{ EV_STORED, false, ADVERTISE_ASKED, "a" },
		/* A change goes out at once to a proxy that asked. */
		{ EV_CHANGE_B, true, ADVERTISE_ASKED, "b" },
		{ EV_STORED, false, ADVERTISE_ASKED, "b" },
	} },
	{ "a Go proxy never asks: never sent, tag still on polls", "a", {
		{ EV_CHANGE_B, false, ADVERTISE_UNKNOWN, "b" },
	} },
	{ "404: unsupported for good, no tag, no sends", "a", {
		{ EV_ASKED, true, ADVERTISE_ASKED, "a" },
		{ EV_NOT_FOUND, false, ADVERTISE_UNSUPPORTED, NULL },
		{ EV_CHANGE_B, false, ADVERTISE_UNSUPPORTED, NULL },
		{ EV_ASKED, false, ADVERTISE_UNSUPPORTED, NULL },
		{ EV_STORED, false, ADVERTISE_UNSUPPORTED, NULL },
	} },
	{ "refused: no tag until the set changes", "a", {
		{ EV_ASKED, true, ADVERTISE_ASKED, "a" },
		{ EV_REFUSED, false, ADVERTISE_REFUSED, NULL },
		/* Asked anyway for the refused tag: not sent again. */
		{ EV_ASKED, false, ADVERTISE_REFUSED, NULL },
		{ EV_CHANGE_B, true, ADVERTISE_ASKED, "b" },
		{ EV_STORED, false, ADVERTISE_ASKED, "b" },
	} },
	{ "failed: state kept, tag kept, asked again later", "a", {
		{ EV_ASKED, true, ADVERTISE_ASKED, "a" },
		{ EV_FAILED, false, ADVERTISE_ASKED, "a" },
		{ EV_ASKED, true, ADVERTISE_ASKED, "a" },
	} },
	{ "nothing left to advertise: no tag, no send", "a", {
		{ EV_ASKED, true, ADVERTISE_ASKED, "a" },
		{ EV_CHANGE_NONE, false, ADVERTISE_ASKED, NULL },
		{ EV_ASKED, false, ADVERTISE_ASKED, NULL },
	} },
};

START_TEST(test_advertise_script)
{
	const struct script	*sc = &scripts[_i];
	struct advertise	 a;
	const char		*tag = sc->tag0, *pt;
	bool			 send;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(a.state, ADVERTISE_UNKNOWN);
	pt = advertise_poll_tag(&a, tag);
	ck_assert_msg(tag == NULL ? pt == NULL : pt != NULL &&
	    strcmp(pt, tag) == 0, "%s: first poll", sc->name);
	for (int k = 0; k < NELEM(sc->steps) && sc->steps[k].ev != EV_END;
	    k++) {
		const struct step	*st = &sc->steps[k];

		send = false;
		switch (st->ev) {
		case EV_ASKED:
			send = advertise_asked(&a, tag);
			break;
		case EV_STORED:
			advertise_apply(&a, ADVERTISE_STORED, tag);
			break;
		case EV_NOT_FOUND:
			advertise_apply(&a, ADVERTISE_NOT_FOUND, tag);
			break;
		case EV_REFUSED:
			advertise_apply(&a, ADVERTISE_REFUSAL, tag);
			break;
		case EV_FAILED:
			advertise_apply(&a, ADVERTISE_FAILED, tag);
			break;
		case EV_CHANGE_B:
			tag = "b";
			send = advertise_changed(&a, tag);
			break;
		case EV_CHANGE_NONE:
			tag = NULL;
			send = advertise_changed(&a, tag);
			break;
		case EV_END:
		default:
			break;
		}
		ck_assert_msg(send == st->send, "%s: step %d: send %d, want %d",
		    sc->name, k, send, st->send);
		ck_assert_msg(a.state == st->state, "%s: step %d: state %s, "
		    "want %s", sc->name, k, advertise_state_names[a.state],
		    advertise_state_names[st->state]);
		pt = advertise_poll_tag(&a, tag);
		ck_assert_msg(st->poll_tag == NULL ? pt == NULL :
		    pt != NULL && strcmp(pt, st->poll_tag) == 0,
		    "%s: step %d: poll tag %s, want %s", sc->name, k,
		    pt != NULL ? pt : "(none)",
		    st->poll_tag != NULL ? st->poll_tag : "(none)");
	}
}
END_TEST

/* The answers to POST /advertise, as docs/protocol.md's table has them. */
static const struct {
	CURLcode		 res;
	long			 status;
	enum advertise_outcome	 want;
} outcomes[] = {
	{ CURLE_OK, 204, ADVERTISE_STORED },
	{ CURLE_OK, 200, ADVERTISE_STORED },
	{ CURLE_OK, 404, ADVERTISE_NOT_FOUND },
	{ CURLE_OK, 400, ADVERTISE_REFUSAL },
	{ CURLE_OK, 413, ADVERTISE_REFUSAL },
	{ CURLE_OK, 415, ADVERTISE_REFUSAL },
	{ CURLE_OK, 401, ADVERTISE_FAILED },
	{ CURLE_OK, 403, ADVERTISE_FAILED },
	{ CURLE_OK, 429, ADVERTISE_FAILED },
	{ CURLE_OK, 500, ADVERTISE_FAILED },
	{ CURLE_OK, 503, ADVERTISE_FAILED },
	{ CURLE_OK, 302, ADVERTISE_FAILED },
	{ CURLE_COULDNT_CONNECT, 0, ADVERTISE_FAILED },
	{ CURLE_OPERATION_TIMEDOUT, 0, ADVERTISE_FAILED },
	/* A transfer error after a 204 head is still a failure. */
	{ CURLE_RECV_ERROR, 204, ADVERTISE_FAILED },
};

START_TEST(test_advertise_classify)
{
	ck_assert_int_eq(advertise_classify(outcomes[_i].res,
	    outcomes[_i].status), outcomes[_i].want);
}
END_TEST

/* The refused tag is kept whole, up to ADVERT_MAX_TAG bytes. */
START_TEST(test_advertise_refused_long_tag)
{
	struct advertise	 a;
	char			 tag[ADVERT_MAX_TAG + 1];

	memset(&a, 0, sizeof(a));
	memset(tag, 'x', ADVERT_MAX_TAG);
	tag[ADVERT_MAX_TAG] = '\0';
	ck_assert(advertise_asked(&a, tag));
	advertise_apply(&a, ADVERTISE_REFUSAL, tag);
	ck_assert_ptr_null(advertise_poll_tag(&a, tag));
	tag[ADVERT_MAX_TAG - 1] = 'y';	/* differs in the last byte */
	ck_assert_ptr_eq(advertise_poll_tag(&a, tag), tag);
}
END_TEST

Suite *
poller_suite(void)
{
	Suite	*s = suite_create("poller");
	TCase	*tc = tcase_create("backoff");
	TCase	*lc = tcase_create("lifecycle");
	TCase	*ac;

	tcase_add_loop_test(tc, test_walk, 0, NELEM(walks));
	tcase_add_loop_test(tc, test_growth_bounded_and_capped, 0,
	    NELEM(bounds));
	tcase_add_test(tc, test_reset_after_success);
	tcase_add_test(tc, test_cap_wins);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(lc, test_lifecycle_without_start, 0, 2);
	tcase_add_test(lc, test_free_null);
	suite_add_tcase(s, lc);
	ac = tcase_create("advertise");
	tcase_add_loop_test(ac, test_advertise_script, 0, NELEM(scripts));
	tcase_add_loop_test(ac, test_advertise_classify, 0, NELEM(outcomes));
	tcase_add_test(ac, test_advertise_refused_long_tag);
	suite_add_tcase(s, ac);
	return s;
}
