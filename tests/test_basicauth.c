/*
 * Scraper passwords and what guards their checks, without a connection:
 * basic credentials against real bcrypt hashes (in one go and in the three
 * steps the worker pool splits them into, reloads included), the
 * per-source failure limit (authlimit.c), and the worker pool itself
 * (authpool.c).
 */
#include <check.h>
#include <crypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "authlimit.h"
#include "authpool.h"
#include "basicauth.h"
#include "webconfig.h"

/* "Basic " + base64(user:pass) for the cases below. */
static const char *
basic(const char *userpass)
{
	static char out[256];
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, n = strlen(userpass), o = 6;
	const unsigned char *p = (const unsigned char *)userpass;

	memcpy(out, "Basic ", 6);
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 |
		    (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* A cheap ($2b$04) bcrypt hash of password, into out. */
static void
make_hash(const char *password, char *out, size_t outlen)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char salt[64];

	ck_assert_ptr_nonnull(cd);
	ck_assert_ptr_nonnull(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt,
	    sizeof(salt)));
	ck_assert_ptr_nonnull(crypt_rn(password, salt, cd, (int)sizeof(*cd)));
	snprintf(out, outlen, "%s", cd->output);
	free(cd);
}

START_TEST(test_basic)
{
	struct webconfig wc = { 0 };
	struct webconfig_user users[1];
	struct basicauth *a = basicauth_new();
	char hash[512];
	const char *why;

	make_hash(" s3cret:x", hash, sizeof(hash));
	users[0].name = "prom";
	users[0].hash = hash;
	wc.users = users;
	wc.nusers = 1;
	ck_assert(!basicauth_has_users(a));
	basicauth_load(a, &wc);
	ck_assert(basicauth_has_users(a));
	ck_assert_int_eq(basicauth_verify(a, basic("prom: s3cret:x"), &why), 0);
	/* The cached path must give the same answer. */
	ck_assert_int_eq(basicauth_verify(a, basic("prom: s3cret:x"), &why), 0);
	ck_assert_int_eq(basicauth_verify(a, basic("prom: s3cret:y"), &why),
	    -1);
	ck_assert_str_eq(why, "wrong password");
	ck_assert_int_eq(basicauth_verify(a, basic("eve: s3cret:x"), &why), -1);
	ck_assert_str_eq(why, "unknown user");
	ck_assert_int_eq(basicauth_verify(a, NULL, &why), -1);
	ck_assert_str_eq(why, "no credentials");
	ck_assert_int_eq(basicauth_verify(a, "Bearer xyz", &why), -1);
	ck_assert_int_eq(basicauth_verify(a, "Basic !!!!", &why), -1);
	ck_assert_int_eq(basicauth_verify(a, "Basic cHJvbQ==", &why), -1);
	/* A reload without users opens scraping again. */
	basicauth_load(a, NULL);
	ck_assert(!basicauth_has_users(a));
	basicauth_free(a);
	basicauth_free(NULL);
}
END_TEST

/* The steps the router takes around the pool, reloads included. */
START_TEST(test_basic_steps)
{
	struct webconfig wc = { 0 };
	struct webconfig_user users[2];
	struct basicauth *a = basicauth_new();
	struct basicauth_check *c = calloc(1, sizeof(*c));
	char hash[128], hash2[128];
	const char *why = NULL;
	struct timespec t0, t1;
	double us;
	size_t i;

	ck_assert_ptr_nonnull(c);
	make_hash("pw", hash, sizeof(hash));
	make_hash("pw2", hash2, sizeof(hash2));
	users[0].name = "prom";
	users[0].hash = hash;
	users[1].name = "other";
	users[1].hash = hash2;
	wc.users = users;
	wc.nusers = 2;
	basicauth_load(a, &wc);

	/* Never verified: needs the bcrypt; the check holds the password. */
	ck_assert_int_eq(basicauth_start(a, basic("prom:pw"), c, &why),
	    BASICAUTH_VERIFY);
	ck_assert_str_eq(c->password, "pw");
	basicauth_check_run(c);
	for (i = 0; i < sizeof(c->password); i++)
		ck_assert_int_eq(c->password[i], 0);	/* wiped */
	ck_assert_int_eq(basicauth_check_finish(a, c, &why), BASICAUTH_GRANTED);
	/* Verified before: granted at once, no bcrypt: microseconds. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(basicauth_start(a, basic("prom:pw"), c, &why),
		    BASICAUTH_GRANTED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / 1000;
	printf("verified password: %.2f us a check\n", us);
	ck_assert(us < 200);	/* a bcrypt is tens of thousands */
	/* Another password for the same user is checked again. */
	ck_assert_int_eq(basicauth_start(a, basic("prom:pW"), c, &why),
	    BASICAUTH_VERIFY);
	basicauth_check_run(c);
	ck_assert_int_eq(basicauth_check_finish(a, c, &why), BASICAUTH_REFUSED);
	ck_assert_str_eq(why, "wrong password");
	/* ... and the right one stays remembered. */
	ck_assert_int_eq(basicauth_start(a, basic("prom:pw"), c, &why),
	    BASICAUTH_GRANTED);
	/* Unknown users cost a bcrypt too (same time), then are refused. */
	ck_assert_int_eq(basicauth_start(a, basic("eve:pw"), c, &why),
	    BASICAUTH_VERIFY);
	basicauth_check_run(c);
	ck_assert_int_eq(basicauth_check_finish(a, c, &why), BASICAUTH_REFUSED);
	ck_assert_str_eq(why, "unknown user");
	ck_assert_int_eq(basicauth_start(a, NULL, c, &why), BASICAUTH_REFUSED);
	ck_assert_str_eq(why, "no credentials");
	ck_assert_int_eq(basicauth_start(a, "Basic Zm9v", c, &why),
	    BASICAUTH_REFUSED);

	/* A reload keeping the hash keeps the verified password. */
	basicauth_load(a, &wc);
	ck_assert_int_eq(basicauth_start(a, basic("prom:pw"), c, &why),
	    BASICAUTH_GRANTED);
	/* A check that spans a reload is judged again, never cached. */
	ck_assert_int_eq(basicauth_start(a, basic("other:pw2"), c, &why),
	    BASICAUTH_VERIFY);
	basicauth_check_run(c);
	basicauth_load(a, &wc);
	ck_assert_int_eq(basicauth_check_finish(a, c, &why), BASICAUTH_STALE);
	ck_assert_int_eq(basicauth_start(a, basic("other:pw2"), c, &why),
	    BASICAUTH_VERIFY);
	/* A new hash forgets the verified password. */
	users[0].hash = hash2;
	basicauth_load(a, &wc);
	ck_assert_int_eq(basicauth_start(a, basic("prom:pw"), c, &why),
	    BASICAUTH_VERIFY);
	basicauth_check_clear(c);
	free(c);
	basicauth_free(a);
}
END_TEST

START_TEST(test_limit)
{
	struct authlimit *l = authlimit_new(3, 2);
	int64_t now = 1000000, retry = 0;
	char src[AUTHLIMIT_SOURCE_LEN];

	/* A burst of the limit, then refusals with a retry time. */
	ck_assert(authlimit_take(l, "a", now, &retry));
	ck_assert(authlimit_take(l, "a", now, &retry));
	ck_assert(authlimit_take(l, "a", now, &retry));
	ck_assert(!authlimit_take(l, "a", now, &retry));
	ck_assert_int_eq(retry, 20000);	/* 3 a minute: one per 20 s */
	/* Another source is not slowed. */
	ck_assert(authlimit_take(l, "b", now, NULL));
	ck_assert(authlimit_take(l, "b", now, NULL));
	ck_assert(authlimit_take(l, "b", now, NULL));
	/* A success gives its token back. */
	authlimit_give(l, "a", now);
	ck_assert(authlimit_take(l, "a", now, NULL));
	ck_assert(!authlimit_take(l, "a", now + 19999, NULL));
	/* Refill: one token per 20 s. */
	ck_assert(authlimit_take(l, "a", now + 20000, NULL));
	ck_assert(!authlimit_take(l, "a", now + 20000, NULL));
	/* Bounded: a third source pushes out the least recently seen. */
	ck_assert_int_eq(authlimit_count(l), 2);
	ck_assert(authlimit_take(l, "c", now + 20000, NULL));
	ck_assert_int_eq(authlimit_count(l), 2);
	/* "a" was seen last before "c": it stays refused; "b" is gone. */
	ck_assert(!authlimit_take(l, "a", now + 20000, NULL));
	ck_assert(authlimit_take(l, "b", now + 20000, NULL));
	/* A bucket that refilled is forgotten. */
	ck_assert(authlimit_take(l, "a", now + 200000, NULL));
	authlimit_give(l, "a", now + 200000);
	ck_assert_int_le(authlimit_count(l), 1);
	authlimit_free(l);
	authlimit_free(NULL);

	/* 0: no limit. */
	l = authlimit_new(0, 2);
	for (int i = 0; i < 1000; i++)
		ck_assert(authlimit_take(l, "a", now, NULL));
	authlimit_free(l);

	authlimit_source("127.0.0.1:5000", src);
	ck_assert_str_eq(src, "127.0.0.1");
	authlimit_source("[2001:db8:1:2:3:4:5:6]:80", src);
	ck_assert_str_eq(src, "2001:db8:1:2::/64");
	authlimit_source("[::1]:80", src);
	ck_assert_str_eq(src, "::/64");
	authlimit_source("[::ffff:10.0.0.1]:80", src);
	ck_assert_str_eq(src, "::ffff:10.0.0.1");
	authlimit_source("garbage", src);
	ck_assert_str_eq(src, "garbage");
}
END_TEST

/* Pool jobs that wait at a gate until the test opens it. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_running;
static pthread_t loop_thread;

struct pool_job {
	int	 ran;		/* work ran */
	int	 done;		/* done calls */
	int	 done_ran;	/* done's ran */
	int	 on_loop;	/* done ran on the loop thread */
};

static void
pool_work_cb(void *arg)
{
	struct pool_job *j = arg;

	pthread_mutex_lock(&gate_lock);
	gate_running++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	j->ran = 1;
}

static void
pool_done_cb(int ran, void *arg)
{
	struct pool_job *j = arg;

	j->done++;
	j->done_ran = ran;
	j->on_loop = pthread_equal(pthread_self(), loop_thread);
}

/* Waits up to 5 s for n jobs to be running at the gate. */
static void
pool_wait_running(int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&gate_lock);
	while (gate_running < n)
		if (pthread_cond_timedwait(&gate_cond, &gate_lock, &ts) != 0)
			break;
	ck_assert_int_eq(gate_running, n);
	pthread_mutex_unlock(&gate_lock);
}

static void
pool_open_gate(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

START_TEST(test_pool)
{
	struct event_base *base = event_base_new();
	struct authpool *p;
	struct pool_job jobs[6];
	struct authpool_job *h[6];
	struct timeval step = { 0, 10000 };
	int i, n;

	memset(jobs, 0, sizeof(jobs));
	loop_thread = pthread_self();
	ck_assert_ptr_nonnull(base);
	ck_assert_ptr_nonnull(p = authpool_new(base, 2, 2));
	/* Two run (held at the gate), two wait, the fifth is refused. */
	for (i = 0; i < 2; i++)
		ck_assert_ptr_nonnull(h[i] = authpool_submit(p, pool_work_cb,
		    pool_done_cb, &jobs[i]));
	pool_wait_running(2);
	for (; i < 4; i++)
		ck_assert_ptr_nonnull(h[i] = authpool_submit(p, pool_work_cb,
		    pool_done_cb, &jobs[i]));
	ck_assert_int_eq(authpool_queued(p), 2);
	ck_assert_ptr_null(authpool_submit(p, pool_work_cb, pool_done_cb,
	    &jobs[4]));
	/* A waiting job is dropped on cancel; a running one is not. */
	ck_assert(authpool_cancel(p, h[3]));
	ck_assert(!authpool_cancel(p, h[0]));
	ck_assert_int_eq(authpool_queued(p), 1);
	pool_open_gate();
	/* Results come back through the loop, in bounded steps. */
	for (n = 0; n < 500; n++) {
		event_base_loopexit(base, &step);
		event_base_dispatch(base);
		if (jobs[0].done && jobs[1].done && jobs[2].done)
			break;
	}
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(jobs[i].ran, 1);
		ck_assert_int_eq(jobs[i].done, 1);
		ck_assert_int_eq(jobs[i].done_ran, 1);
		ck_assert(jobs[i].on_loop);
	}
	ck_assert_int_eq(jobs[3].ran + jobs[3].done, 0);
	ck_assert_int_eq(jobs[4].ran + jobs[4].done, 0);
	authpool_free(p);
	ck_assert_int_eq(jobs[0].done, 1);	/* not twice */
	authpool_free(NULL);
	event_base_free(base);
}
END_TEST

/* Freeing the pool finishes what runs and reports what never ran. */
START_TEST(test_pool_free)
{
	struct event_base *base = event_base_new();
	struct authpool *p;
	struct pool_job jobs[3];

	memset(jobs, 0, sizeof(jobs));
	gate_open = 0;
	gate_running = 0;
	loop_thread = pthread_self();
	ck_assert_ptr_nonnull(p = authpool_new(base, 1, 4));
	ck_assert_ptr_nonnull(authpool_submit(p, pool_work_cb, pool_done_cb,
	    &jobs[0]));
	pool_wait_running(1);
	ck_assert_ptr_nonnull(authpool_submit(p, pool_work_cb, pool_done_cb,
	    &jobs[1]));
	pool_open_gate();
	authpool_free(p);
	ck_assert_int_eq(jobs[0].ran, 1);
	ck_assert_int_eq(jobs[0].done, 1);
	ck_assert_int_eq(jobs[0].done_ran, 1);
	/* The worker may have taken the second before it saw the stop. */
	ck_assert_int_eq(jobs[1].done, 1);
	ck_assert_int_eq(jobs[1].done_ran, jobs[1].ran);
	event_base_free(base);
}
END_TEST

Suite *
basicauth_suite(void)
{
	Suite *s = suite_create("basicauth");
	TCase *tc = tcase_create("basicauth");

	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_basic_steps);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_pool);
	tcase_add_test(tc, test_pool_free);
	suite_add_tcase(s, tc);
	return s;
}
