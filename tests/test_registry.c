/*
 * Unit tests for the proxy's coordination state (proxy/registry.c): which
 * poll a scrape gets, which scrape a poll gets, liveness and expiry, with
 * the counters checked after every step.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advert.h"
#include "registry.h"

#define TIMEOUT_MS	1000
#define MAX_POLLS	4

/* A stand-in for a poll or a scrape: the registry links its waiter. */
struct item {
	struct registry_waiter	 w;
	int			 id;
};

static struct registry *reg;

static void
setup(void)
{
	reg = registry_new(TIMEOUT_MS, MAX_POLLS);
	ck_assert_ptr_nonnull(reg);
}

/*
 * Waiters live on the tests' stacks, and freeing the registry unlinks
 * (writes to) the queued ones: each test frees it while they exist.
 */
static void
done(void)
{
	registry_free(reg);
	reg = NULL;
}

static void
teardown(void)
{
	done();
}

static void
item_init(struct item *it, int id)
{
	memset(it, 0, sizeof(*it));
	it->id = id;
	it->w.owner = it;
}

#define COUNTS(c, p, s) do {						\
	ck_assert_uint_eq(registry_clients(reg), (c));			\
	ck_assert_uint_eq(registry_polls_waiting(reg), (p));		\
	ck_assert_uint_eq(registry_scrapes_waiting(reg), (s));		\
} while (0)

static enum registry_result
poll_(const char *fqdn, int64_t now, struct item *it, struct item **m)
{
	struct registry_waiter *match = NULL;
	enum registry_result r;

	r = registry_add_poll(reg, fqdn, now, &it->w, &match);
	if (r == REGISTRY_MATCHED) {
		ck_assert_ptr_nonnull(match);
		ck_assert_ptr_null(match->client);
		ck_assert_int_eq(match->kind, REGISTRY_SCRAPE);
		ck_assert_ptr_null(it->w.client);
	}
	if (r == REGISTRY_QUEUED)
		ck_assert_ptr_nonnull(it->w.client);
	if (m != NULL)
		*m = match != NULL ? match->owner : NULL;
	return r;
}

static enum registry_result
scrape_(const char *fqdn, int64_t now, struct item *it, struct item **m)
{
	struct registry_waiter *match = NULL;
	enum registry_result r;

	r = registry_add_scrape(reg, fqdn, now, &it->w, &match);
	if (r == REGISTRY_MATCHED) {
		ck_assert_ptr_nonnull(match);
		ck_assert_ptr_null(match->client);
		ck_assert_int_eq(match->kind, REGISTRY_POLL);
		ck_assert_ptr_null(it->w.client);
	}
	if (r == REGISTRY_QUEUED)
		ck_assert_ptr_nonnull(it->w.client);
	if (r == REGISTRY_UNKNOWN)
		ck_assert_ptr_null(it->w.client);
	if (m != NULL)
		*m = match != NULL ? match->owner : NULL;
	return r;
}

START_TEST(test_empty)
{
	size_t n = 99;
	const char **live;

	COUNTS(0, 0, 0);
	ck_assert(!registry_is_live(reg, "node1", 0));
	ck_assert_uint_eq(registry_expire(reg, 0), 0);
	live = registry_live(reg, 0, &n);
	ck_assert_ptr_nonnull(live);
	ck_assert_uint_eq(n, 0);
	free(live);
	registry_free(NULL);
	done();
}
END_TEST

START_TEST(test_scrape_unknown)
{
	struct item s, p, *m;

	item_init(&s, 1);
	ck_assert_int_eq(scrape_("node1", 0, &s, &m), REGISTRY_UNKNOWN);
	ck_assert_ptr_null(m);
	COUNTS(0, 0, 0);
	/* Another client's presence changes nothing. */
	item_init(&p, 2);
	ck_assert_int_eq(poll_("node2", 0, &p, NULL), REGISTRY_QUEUED);
	ck_assert_int_eq(scrape_("node1", 0, &s, &m), REGISTRY_UNKNOWN);
	ck_assert_int_eq(scrape_("node", 0, &s, &m), REGISTRY_UNKNOWN);
	ck_assert_int_eq(scrape_("NODE2", 0, &s, &m), REGISTRY_UNKNOWN);
	COUNTS(1, 1, 0);
	/* registry_touch never registers. */
	registry_touch(reg, "node1", 0);
	COUNTS(1, 1, 0);
	ck_assert(!registry_is_live(reg, "node1", 0));
	done();
}
END_TEST

START_TEST(test_poll_then_scrape)
{
	struct item p, s, *m;

	item_init(&p, 1);
	item_init(&s, 2);
	ck_assert_int_eq(poll_("node1", 100, &p, &m), REGISTRY_QUEUED);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(p.w.kind, REGISTRY_POLL);
	COUNTS(1, 1, 0);
	ck_assert(registry_is_live(reg, "node1", 100));
	ck_assert_int_eq(scrape_("node1", 150, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &p);
	ck_assert_int_eq(m->id, 1);
	ck_assert_ptr_null(p.w.client);
	COUNTS(1, 0, 0);
	done();
}
END_TEST

START_TEST(test_scrape_then_poll)
{
	struct item p1, p2, s1, s2, *m;

	item_init(&p1, 1);
	item_init(&p2, 2);
	item_init(&s1, 11);
	item_init(&s2, 12);
	/* The client registered by polling, and that poll was used. */
	ck_assert_int_eq(poll_("node1", 0, &p1, NULL), REGISTRY_QUEUED);
	ck_assert_int_eq(scrape_("node1", 10, &s1, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &p1);
	COUNTS(1, 0, 0);
	/* Live, no poll waiting: the scrape waits for the next poll. */
	ck_assert_int_eq(scrape_("node1", 20, &s2, &m), REGISTRY_QUEUED);
	ck_assert_int_eq(s2.w.kind, REGISTRY_SCRAPE);
	ck_assert_ptr_null(m);
	COUNTS(1, 0, 1);
	ck_assert_int_eq(poll_("node1", 30, &p2, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &s2);
	ck_assert_ptr_null(s2.w.client);
	ck_assert_ptr_null(p2.w.client);
	COUNTS(1, 0, 0);
	done();
}
END_TEST

START_TEST(test_fifo_polls)
{
	struct item p[MAX_POLLS], s[MAX_POLLS], *m;
	int i;

	for (i = 0; i < MAX_POLLS; i++) {
		item_init(&p[i], i);
		ck_assert_int_eq(poll_("node1", i, &p[i], NULL),
		    REGISTRY_QUEUED);
		COUNTS(1, (size_t)i + 1, 0);
	}
	for (i = 0; i < MAX_POLLS; i++) {
		item_init(&s[i], 100 + i);
		ck_assert_int_eq(scrape_("node1", 10, &s[i], &m),
		    REGISTRY_MATCHED);
		ck_assert_ptr_eq(m, &p[i]);
		COUNTS(1, (size_t)(MAX_POLLS - i - 1), 0);
	}
	done();
}
END_TEST

START_TEST(test_fifo_scrapes)
{
	struct item p0, p[8], s[8], *m;
	int i;

	item_init(&p0, 0);
	ck_assert_int_eq(poll_("node1", 0, &p0, NULL), REGISTRY_QUEUED);
	item_init(&s[0], 100);
	ck_assert_int_eq(scrape_("node1", 0, &s[0], &m), REGISTRY_MATCHED);
	/* More scrapes than the poll limit may wait: that limit is polls'. */
	for (i = 0; i < 8; i++) {
		item_init(&s[i], 100 + i);
		ck_assert_int_eq(scrape_("node1", 5, &s[i], &m),
		    REGISTRY_QUEUED);
		COUNTS(1, 0, (size_t)i + 1);
	}
	for (i = 0; i < 8; i++) {
		item_init(&p[i], i + 1);
		ck_assert_int_eq(poll_("node1", 10 + i, &p[i], &m),
		    REGISTRY_MATCHED);
		ck_assert_ptr_eq(m, &s[i]);
		COUNTS(1, 0, (size_t)(8 - i - 1));
	}
	/* Queue empty again: the next poll waits. */
	item_init(&p0, 50);
	ck_assert_int_eq(poll_("node1", 20, &p0, NULL), REGISTRY_QUEUED);
	COUNTS(1, 1, 0);
	done();
}
END_TEST

START_TEST(test_interleaved_fqdns)
{
	struct item a[3], b[3], s, *m;
	int i;

	for (i = 0; i < 3; i++) {
		item_init(&a[i], i);
		item_init(&b[i], 10 + i);
		ck_assert_int_eq(poll_("a.example", i, &a[i], NULL),
		    REGISTRY_QUEUED);
		ck_assert_int_eq(poll_("b.example", i, &b[i], NULL),
		    REGISTRY_QUEUED);
	}
	COUNTS(2, 6, 0);
	item_init(&s, 100);
	ck_assert_int_eq(scrape_("b.example", 5, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &b[0]);
	ck_assert_int_eq(scrape_("a.example", 5, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &a[0]);
	ck_assert_int_eq(scrape_("b.example", 5, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &b[1]);
	ck_assert_int_eq(scrape_("b.example", 5, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &b[2]);
	COUNTS(2, 2, 0);
	/* b has no poll left: its scrape waits, a's polls are untouched. */
	ck_assert_int_eq(scrape_("b.example", 5, &s, &m), REGISTRY_QUEUED);
	COUNTS(2, 2, 1);
	ck_assert_ptr_nonnull(a[1].w.client);
	ck_assert_ptr_nonnull(a[2].w.client);
	done();
}
END_TEST

START_TEST(test_no_eviction_and_full)
{
	struct item p[MAX_POLLS + 2], s, *m;
	int i;

	for (i = 0; i < MAX_POLLS; i++) {
		item_init(&p[i], i);
		ck_assert_int_eq(poll_("node1", i, &p[i], NULL),
		    REGISTRY_QUEUED);
	}
	/* A newer poll never pushes out an older one: it is refused. */
	item_init(&p[MAX_POLLS], MAX_POLLS);
	ck_assert_int_eq(poll_("node1", 10, &p[MAX_POLLS], &m),
	    REGISTRY_FULL);
	ck_assert_ptr_null(m);
	ck_assert_ptr_null(p[MAX_POLLS].w.client);
	for (i = 0; i < MAX_POLLS; i++)
		ck_assert_ptr_nonnull(p[i].w.client);
	COUNTS(1, MAX_POLLS, 0);
	/* Removing the refused one is a no-op. */
	registry_remove(reg, &p[MAX_POLLS].w);
	COUNTS(1, MAX_POLLS, 0);
	/* Once one is taken there is room again, at the back. */
	item_init(&s, 100);
	ck_assert_int_eq(scrape_("node1", 11, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &p[0]);
	item_init(&p[MAX_POLLS + 1], MAX_POLLS + 1);
	ck_assert_int_eq(poll_("node1", 12, &p[MAX_POLLS + 1], NULL),
	    REGISTRY_QUEUED);
	COUNTS(1, MAX_POLLS, 0);
	for (i = 1; i < MAX_POLLS; i++) {
		ck_assert_int_eq(scrape_("node1", 13, &s, &m),
		    REGISTRY_MATCHED);
		ck_assert_ptr_eq(m, &p[i]);
	}
	ck_assert_int_eq(scrape_("node1", 13, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &p[MAX_POLLS + 1]);
	COUNTS(1, 0, 0);
	done();
}
END_TEST

START_TEST(test_full_limit_one)
{
	struct registry *r1 = registry_new(TIMEOUT_MS, 1);
	struct registry_waiter a = { 0 }, b = { 0 }, *match = NULL;

	ck_assert_int_eq(registry_add_poll(r1, "x", 0, &a, &match),
	    REGISTRY_QUEUED);
	ck_assert_int_eq(registry_add_poll(r1, "x", 0, &b, &match),
	    REGISTRY_FULL);
	ck_assert_ptr_null(b.client);
	ck_assert_ptr_nonnull(a.client);
	ck_assert_uint_eq(registry_polls_waiting(r1), 1);
	ck_assert_int_eq(registry_add_poll(r1, "y", 0, &b, &match),
	    REGISTRY_QUEUED);
	ck_assert_uint_eq(registry_polls_waiting(r1), 2);
	registry_free(r1);
	/* Freeing the registry unlinks what was queued. */
	ck_assert_ptr_null(a.client);
	ck_assert_ptr_null(b.client);
}
END_TEST

START_TEST(test_remove_polls)
{
	struct item p[3], s, *m;
	int i;

	for (i = 0; i < 3; i++) {
		item_init(&p[i], i);
		ck_assert_int_eq(poll_("node1", 0, &p[i], NULL),
		    REGISTRY_QUEUED);
	}
	/* The middle poll hangs up. */
	registry_remove(reg, &p[1].w);
	ck_assert_ptr_null(p[1].w.client);
	COUNTS(1, 2, 0);
	registry_remove(reg, &p[1].w);	/* twice: no-op */
	COUNTS(1, 2, 0);
	item_init(&s, 100);
	ck_assert_int_eq(scrape_("node1", 1, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &p[0]);
	/* A poll already matched is not queued: removing it is a no-op. */
	registry_remove(reg, &p[0].w);
	COUNTS(1, 1, 0);
	ck_assert_int_eq(scrape_("node1", 1, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &p[2]);
	COUNTS(1, 0, 0);
	/* The last one too: the queue is empty, not corrupted. */
	registry_remove(reg, &p[2].w);
	ck_assert_int_eq(scrape_("node1", 1, &s, &m), REGISTRY_QUEUED);
	COUNTS(1, 0, 1);
	registry_remove(reg, &s.w);
	COUNTS(1, 0, 0);
	/* A never-queued waiter. */
	item_init(&s, 200);
	registry_remove(reg, &s.w);
	COUNTS(1, 0, 0);
	done();
}
END_TEST

START_TEST(test_remove_scrapes)
{
	struct item p, s[4], *m;
	int i;

	item_init(&p, 0);
	ck_assert_int_eq(poll_("node1", 0, &p, NULL), REGISTRY_QUEUED);
	registry_remove(reg, &p.w);	/* client stays live: just polled */
	COUNTS(1, 0, 0);
	for (i = 0; i < 4; i++) {
		item_init(&s[i], 100 + i);
		ck_assert_int_eq(scrape_("node1", 1, &s[i], NULL),
		    REGISTRY_QUEUED);
	}
	COUNTS(1, 0, 4);
	registry_remove(reg, &s[0].w);	/* the head */
	registry_remove(reg, &s[2].w);	/* the middle */
	COUNTS(1, 0, 2);
	ck_assert_int_eq(poll_("node1", 2, &p, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &s[1]);
	registry_remove(reg, &s[3].w);	/* the tail */
	COUNTS(1, 0, 0);
	ck_assert_int_eq(poll_("node1", 3, &p, &m), REGISTRY_QUEUED);
	COUNTS(1, 1, 0);
	done();
}
END_TEST

START_TEST(test_liveness)
{
	struct item p, s, *m;

	item_init(&p, 1);
	item_init(&s, 2);
	/* A waiting poll keeps the client live however long it waits. */
	ck_assert_int_eq(poll_("node1", 100, &p, NULL), REGISTRY_QUEUED);
	ck_assert(registry_is_live(reg, "node1", 100 + 10 * TIMEOUT_MS));
	ck_assert_int_eq(scrape_("node1", 100 + 10 * TIMEOUT_MS, &s, &m),
	    REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &p);
	/* The poll was taken; last seen is its arrival, long ago. */
	ck_assert(!registry_is_live(reg, "node1", 100 + 10 * TIMEOUT_MS));
	ck_assert_int_eq(scrape_("node1", 100 + 10 * TIMEOUT_MS, &s, &m),
	    REGISTRY_UNKNOWN);
	COUNTS(1, 0, 0);

	/* Within the timeout after the last poll: live; after it: not. */
	ck_assert_int_eq(poll_("node1", 20000, &p, NULL), REGISTRY_QUEUED);
	registry_remove(reg, &p.w);
	ck_assert(registry_is_live(reg, "node1", 20000));
	ck_assert(registry_is_live(reg, "node1", 20000 + TIMEOUT_MS));
	ck_assert(!registry_is_live(reg, "node1", 20000 + TIMEOUT_MS + 1));
	ck_assert_int_eq(scrape_("node1", 20000 + TIMEOUT_MS - 1, &s, &m),
	    REGISTRY_QUEUED);
	registry_remove(reg, &s.w);
	ck_assert_int_eq(scrape_("node1", 20000 + TIMEOUT_MS + 1, &s, &m),
	    REGISTRY_UNKNOWN);

	/* A touch (a push, a finished poll) refreshes a registered client. */
	registry_touch(reg, "node1", 30000);
	ck_assert(registry_is_live(reg, "node1", 30000 + TIMEOUT_MS));
	ck_assert(!registry_is_live(reg, "node1", 30000 + TIMEOUT_MS + 1));
	COUNTS(1, 0, 0);
	done();
}
END_TEST

START_TEST(test_liveness_full_poll_refreshes)
{
	struct item p[MAX_POLLS + 1];
	int i;

	for (i = 0; i < MAX_POLLS; i++) {
		item_init(&p[i], i);
		ck_assert_int_eq(poll_("node1", 0, &p[i], NULL),
		    REGISTRY_QUEUED);
	}
	item_init(&p[MAX_POLLS], MAX_POLLS);
	ck_assert_int_eq(poll_("node1", 5000, &p[MAX_POLLS], NULL),
	    REGISTRY_FULL);
	for (i = 0; i < MAX_POLLS; i++)
		registry_remove(reg, &p[i].w);
	COUNTS(1, 0, 0);
	ck_assert(registry_is_live(reg, "node1", 5000 + TIMEOUT_MS));
	done();
}
END_TEST

START_TEST(test_expire)
{
	struct item pa, pb, pc, pd, sd, s, *m;
	size_t n;
	const char **live;

	item_init(&pa, 1);
	item_init(&pb, 2);
	item_init(&pc, 3);
	item_init(&pd, 4);
	item_init(&sd, 5);
	item_init(&s, 6);
	/* a: a poll waiting since long ago. */
	ck_assert_int_eq(poll_("a", 0, &pa, NULL), REGISTRY_QUEUED);
	/* c: polled long ago, poll gone. */
	ck_assert_int_eq(poll_("c", 0, &pc, NULL), REGISTRY_QUEUED);
	registry_remove(reg, &pc.w);
	/* d: polled long ago; a scrape still waits for it. */
	ck_assert_int_eq(poll_("d", 0, &pd, NULL), REGISTRY_QUEUED);
	ck_assert_int_eq(scrape_("d", 0, &s, &m), REGISTRY_MATCHED);
	ck_assert_int_eq(scrape_("d", TIMEOUT_MS, &sd, &m), REGISTRY_QUEUED);
	/* b: polled recently. */
	ck_assert_int_eq(poll_("b", 5000, &pb, NULL), REGISTRY_QUEUED);
	registry_remove(reg, &pb.w);
	COUNTS(4, 1, 1);

	ck_assert_uint_eq(registry_expire(reg, 5000), 1);	/* c */
	COUNTS(3, 1, 1);
	ck_assert(!registry_is_live(reg, "c", 5000));
	ck_assert_int_eq(scrape_("c", 5000, &s, &m), REGISTRY_UNKNOWN);
	ck_assert(registry_is_live(reg, "a", 5000));
	ck_assert(registry_is_live(reg, "b", 5000));
	ck_assert(!registry_is_live(reg, "d", 5000));
	ck_assert_ptr_nonnull(sd.w.client);	/* still queued */
	live = registry_live(reg, 5000, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(live[0], "a");
	ck_assert_str_eq(live[1], "b");
	free(live);
	/* Nothing more to expire now. */
	ck_assert_uint_eq(registry_expire(reg, 5000), 0);
	COUNTS(3, 1, 1);

	/* d's scrape times out: d goes at the next expiry. */
	registry_remove(reg, &sd.w);
	COUNTS(3, 1, 0);
	ck_assert_uint_eq(registry_expire(reg, 5000), 1);
	COUNTS(2, 1, 0);
	/* Later: b's timeout passed; a still has its poll waiting. */
	ck_assert_uint_eq(registry_expire(reg, 5000 + TIMEOUT_MS + 1), 1);
	COUNTS(1, 1, 0);
	ck_assert(registry_is_live(reg, "a", 1000000));
	/* A's poll leaves; then a expires too. */
	registry_remove(reg, &pa.w);
	ck_assert_uint_eq(registry_expire(reg, 1000000), 1);
	COUNTS(0, 0, 0);
	/* A forgotten client registers anew by polling. */
	ck_assert_int_eq(poll_("c", 1000000, &pc, NULL), REGISTRY_QUEUED);
	COUNTS(1, 1, 0);
	ck_assert_int_eq(scrape_("c", 1000001, &s, &m), REGISTRY_MATCHED);
	ck_assert_ptr_eq(m, &pc);
	done();
}
END_TEST

START_TEST(test_live_sorted)
{
	static const char *const names[] = {
		"node10.example", "alpha", "node2.example", "Zulu",
		"node1.example", "beta.example.org", "node1.example.com",
	};
	static const char *const sorted[] = {
		"Zulu", "alpha", "beta.example.org", "node1.example",
		"node1.example.com", "node10.example", "node2.example",
	};
	struct item p[7];
	const char **live;
	size_t i, n;

	for (i = 0; i < 7; i++) {
		item_init(&p[i], (int)i);
		ck_assert_int_eq(poll_(names[i], (int64_t)i * 100, &p[i],
		    NULL), REGISTRY_QUEUED);
		registry_remove(reg, &p[i].w);
	}
	live = registry_live(reg, 600, &n);
	ck_assert_ptr_nonnull(live);
	ck_assert_uint_eq(n, 7);
	for (i = 0; i < 7; i++)
		ck_assert_str_eq(live[i], sorted[i]);
	free(live);
	/* At 1150 the first two (seen at 0 and 100) are gone. */
	live = registry_live(reg, 1150, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(live[0], "Zulu");	/* seen at 300 */
	ck_assert_str_eq(live[1], "beta.example.org");
	ck_assert_str_eq(live[2], "node1.example");
	ck_assert_str_eq(live[3], "node1.example.com");
	ck_assert_str_eq(live[4], "node2.example");
	free(live);
	/* Listing does not forget anybody. */
	COUNTS(7, 0, 0);
	done();
}
END_TEST

START_TEST(test_many_clients)
{
	enum { N = 10000 };
	struct item *polls, *scrapes, *m;
	char name[64];
	const char **live;
	size_t i, n, k;

	polls = calloc(N, sizeof(*polls));
	scrapes = calloc(N, sizeof(*scrapes));
	ck_assert_ptr_nonnull(polls);
	ck_assert_ptr_nonnull(scrapes);
	/* Registered in a scrambled order. */
	for (i = 0; i < N; i++) {
		k = (i * 7919) % N;
		snprintf(name, sizeof(name), "node%05zu.example", k);
		item_init(&polls[k], (int)k);
		ck_assert_int_eq(poll_(name, (int64_t)i, &polls[k], NULL),
		    REGISTRY_QUEUED);
	}
	COUNTS(N, N, 0);
	live = registry_live(reg, N, &n);
	ck_assert_uint_eq(n, N);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "node%05zu.example", i);
		ck_assert_str_eq(live[i], name);
	}
	free(live);
	/* Each scrape finds its own client's poll. */
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "node%05zu.example", i);
		item_init(&scrapes[i], (int)i);
		ck_assert_int_eq(scrape_(name, N, &scrapes[i], &m),
		    REGISTRY_MATCHED);
		ck_assert_ptr_eq(m, &polls[i]);
	}
	COUNTS(N, 0, 0);
	/* Half of them poll again later. */
	for (i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "node%05zu.example", i);
		ck_assert_int_eq(poll_(name, 100000, &polls[i], NULL),
		    REGISTRY_QUEUED);
	}
	COUNTS(N, N / 2, 0);
	ck_assert_uint_eq(registry_expire(reg, 100000), N / 2);
	COUNTS(N / 2, N / 2, 0);
	live = registry_live(reg, 100000, &n);
	ck_assert_uint_eq(n, N / 2);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "node%05zu.example", 2 * i);
		ck_assert_str_eq(live[i], name);
	}
	free(live);
	for (i = 1; i < N; i += 2) {
		snprintf(name, sizeof(name), "node%05zu.example", i);
		ck_assert(!registry_is_live(reg, name, 100000));
	}
	/* Freed with N/2 polls still linked, while they exist. */
	done();
	for (i = 0; i < N; i += 2)
		ck_assert_ptr_null(polls[i].w.client);
	free(polls);
	free(scrapes);
}
END_TEST

/* Never both polls and scrapes waiting for one client. */
START_TEST(test_queues_exclusive)
{
	struct item p[MAX_POLLS], s[6];
	int i, step;
	unsigned seed = 12345;

	for (i = 0; i < MAX_POLLS; i++)
		item_init(&p[i], i);
	for (i = 0; i < 6; i++)
		item_init(&s[i], 100 + i);
	for (step = 0; step < 2000; step++) {
		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 16) % 10);
		if (i < MAX_POLLS) {
			if (p[i].w.client == NULL)
				(void)poll_("node1", step, &p[i], NULL);
			else
				registry_remove(reg, &p[i].w);
		} else {
			i -= MAX_POLLS;
			if (s[i].w.client == NULL)
				(void)scrape_("node1", step, &s[i], NULL);
			else
				registry_remove(reg, &s[i].w);
		}
		ck_assert(registry_polls_waiting(reg) == 0 ||
		    registry_scrapes_waiting(reg) == 0);
		ck_assert_uint_le(registry_polls_waiting(reg), MAX_POLLS);
		{
			size_t np = 0, ns = 0;

			for (i = 0; i < MAX_POLLS; i++)
				np += p[i].w.client != NULL;
			for (i = 0; i < 6; i++)
				ns += s[i].w.client != NULL;
			ck_assert_uint_eq(registry_polls_waiting(reg), np);
			ck_assert_uint_eq(registry_scrapes_waiting(reg), ns);
		}
	}
	done();
}
END_TEST

/* An advertisement with one target called name. */
static struct advert *
advert_with(const char *name)
{
	struct advert *a = advert_new("0.1.0");
	char err[128];

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(advert_add_target(a, name, NULL, err, sizeof(err)),
	    0);
	return a;
}

START_TEST(test_advert_store)
{
	const struct advert *a;
	const char *tag = "x";

	/* Only a registered client can store one; the advert is freed. */
	ck_assert_int_eq(registry_set_advert(reg, "node1", advert_with("n"),
	    "t1", NULL, NULL), -1);
	ck_assert_ptr_null(registry_advert(reg, "node1", &tag));
	ck_assert_ptr_null(tag);
	ck_assert_int_eq(registry_register(reg, "node1", 0), 0);
	COUNTS(1, 0, 0);
	ck_assert(registry_is_live(reg, "node1", 0));
	ck_assert_int_eq(registry_set_advert(reg, "node1", advert_with("n"),
	    "t1", NULL, NULL), 0);
	ck_assert_uint_eq(registry_adverts(reg), 1);
	a = registry_advert(reg, "node1", &tag);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(tag, "t1");
	ck_assert_ptr_nonnull(advert_find(a, "n"));
	/* Replacing frees the old one (ASan checks) and keeps one count. */
	ck_assert_int_eq(registry_set_advert(reg, "node1", advert_with("m"),
	    "t2", NULL, NULL), 0);
	ck_assert_uint_eq(registry_adverts(reg), 1);
	a = registry_advert(reg, "node1", &tag);
	ck_assert_str_eq(tag, "t2");
	ck_assert_ptr_null(advert_find(a, "n"));
	/* A tag longer than any Pushprox-Targets is refused. */
	ck_assert_int_eq(registry_set_advert(reg, "node1", advert_with("m"),
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4", NULL, NULL), -1);
	ck_assert_str_eq(tag, "t2");
	registry_clear_advert(reg, "node1");
	registry_clear_advert(reg, "node1");
	registry_clear_advert(reg, "nobody");
	ck_assert_uint_eq(registry_adverts(reg), 0);
	ck_assert_ptr_null(registry_advert(reg, "node1", &tag));
	ck_assert_ptr_null(tag);
	/* Registering again only refreshes. */
	ck_assert_int_eq(registry_register(reg, "node1", 500), 0);
	COUNTS(1, 0, 0);
	done();
}
END_TEST

START_TEST(test_advert_expires_with_client)
{
	ck_assert_int_eq(registry_register(reg, "a", 0), 0);
	ck_assert_int_eq(registry_register(reg, "b", 0), 0);
	ck_assert_int_eq(registry_set_advert(reg, "a", advert_with("n"),
	    "t", NULL, NULL), 0);
	ck_assert_int_eq(registry_set_advert(reg, "b", advert_with("n"),
	    "t", NULL, NULL), 0);
	ck_assert_int_eq(registry_register(reg, "b", TIMEOUT_MS), 0);
	ck_assert_uint_eq(registry_adverts(reg), 2);
	/* "a" expires, its advertisement with it (LeakSanitizer checks). */
	ck_assert_uint_eq(registry_expire(reg, TIMEOUT_MS + 1), 1);
	ck_assert_uint_eq(registry_adverts(reg), 1);
	ck_assert_ptr_null(registry_advert(reg, "a", NULL));
	ck_assert_ptr_nonnull(registry_advert(reg, "b", NULL));
	done();	/* frees "b" and its advertisement */
}
END_TEST

START_TEST(test_snapshot)
{
	struct registry_entry *v;
	struct item p;
	size_t n = 99;

	item_init(&p, 1);
	ck_assert_int_eq(registry_register(reg, "c.example", 100), 0);
	registry_set_peer(reg, "c.example", "192.0.2.1:4000");
	registry_set_peer(reg, "nobody", "192.0.2.9:1");
	ck_assert_int_eq(registry_set_advert(reg, "c.example",
	    advert_with("n"), "t", NULL, NULL), 0);
	ck_assert_int_eq(poll_("a.example", 200, &p, NULL), REGISTRY_QUEUED);
	ck_assert_int_eq(registry_register(reg, "old.example", 0), 0);
	/* At 1050, old.example (seen at 0) is no longer live. */
	v = registry_snapshot(reg, TIMEOUT_MS + 50, &n);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].fqdn, "a.example");
	ck_assert(v[0].poll_open);
	ck_assert_ptr_null(v[0].advert);
	ck_assert_ptr_null(v[0].address);
	ck_assert_int_eq(v[0].last_seen_ms, 200);
	ck_assert_str_eq(v[1].fqdn, "c.example");
	ck_assert(!v[1].poll_open);
	ck_assert_ptr_nonnull(v[1].advert);
	ck_assert_str_eq(v[1].address, "192.0.2.1:4000");
	ck_assert_int_eq(v[1].last_seen_ms, 100);
	free(v);
	/* A long peer string is cut, never overflows. */
	registry_set_peer(reg, "c.example", "[ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff]:65535-and-then-some-more-bytes-than-fit");
	done();
}
END_TEST

Suite *
registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_scrape_unknown);
	tcase_add_test(tc, test_poll_then_scrape);
	tcase_add_test(tc, test_scrape_then_poll);
	tcase_add_test(tc, test_fifo_polls);
	tcase_add_test(tc, test_fifo_scrapes);
	tcase_add_test(tc, test_interleaved_fqdns);
	tcase_add_test(tc, test_no_eviction_and_full);
	tcase_add_test(tc, test_full_limit_one);
	tcase_add_test(tc, test_remove_polls);
	tcase_add_test(tc, test_remove_scrapes);
	tcase_add_test(tc, test_liveness);
	tcase_add_test(tc, test_liveness_full_poll_refreshes);
	tcase_add_test(tc, test_expire);
	tcase_add_test(tc, test_live_sorted);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_queues_exclusive);
	tcase_add_test(tc, test_advert_store);
	tcase_add_test(tc, test_advert_expires_with_client);
	tcase_add_test(tc, test_snapshot);
	suite_add_tcase(s, tc);
	return s;
}
