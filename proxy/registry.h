/*
 * The proxy's coordination state: clients by FQDN, and per client the
 * polls waiting for work and the scrapes waiting for a poll.  Pure data
 * with O(1) lookups and no I/O, so the matching rules are unit-tested
 * alone: a scrape goes to exactly one waiting poll (oldest first), a poll
 * takes the oldest waiting scrape, and no poll ever evicts another.
 *
 * Polls and scrapes embed a struct registry_waiter; the registry links and
 * unlinks it but never owns or frees the object around it.
 */
#ifndef PUSHPROX_REGISTRY_H
#define PUSHPROX_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct registry;
struct registry_client;

enum registry_kind {
	REGISTRY_POLL,
	REGISTRY_SCRAPE,
};

struct registry_waiter {
	TAILQ_ENTRY(registry_waiter)	 entry;
	struct registry_client		*client;	/* NULL: not queued */
	enum registry_kind		 kind;
	void				*owner;		/* the poll or scrape */
};

enum registry_result {
	REGISTRY_MATCHED,	/* *match is the counterpart, dequeued */
	REGISTRY_QUEUED,	/* w waits in the registry */
	REGISTRY_UNKNOWN,	/* scrape: no live client has that FQDN */
	REGISTRY_FULL,		/* poll: the client's poll limit is reached */
	REGISTRY_NOMEM,
};

/* Returns an empty registry; caller frees with registry_free. */
struct registry *registry_new(int64_t registration_timeout_ms,
    size_t max_polls_per_client);

/* Frees clients (not waiters' owners). NULL is a no-op. */
void registry_free(struct registry *reg);

/*
 * A client polls for fqdn at now_ms: registers or refreshes it, then either
 * hands it the oldest waiting scrape (*match) or queues w.
 */
enum registry_result registry_add_poll(struct registry *reg, const char *fqdn,
    int64_t now_ms, struct registry_waiter *w, struct registry_waiter **match);

/*
 * A scrape for fqdn: takes the oldest waiting poll (*match), or queues w if
 * the client is live but has no poll waiting, or REGISTRY_UNKNOWN.
 */
enum registry_result registry_add_scrape(struct registry *reg,
    const char *fqdn, int64_t now_ms, struct registry_waiter *w,
    struct registry_waiter **match);

/* Unlinks w if queued (a poll hung up, a scrape timed out). */
void registry_remove(struct registry *reg, struct registry_waiter *w);

/* Marks fqdn as seen at now_ms if registered (a push, a finished poll). */
void registry_touch(struct registry *reg, const char *fqdn, int64_t now_ms);

/*
 * A client is live while it has a poll waiting, or polled within the
 * registration timeout.
 */
int registry_is_live(struct registry *reg, const char *fqdn, int64_t now_ms);

/* Forgets clients that are no longer live and have nothing queued. */
size_t registry_expire(struct registry *reg, int64_t now_ms);

/*
 * The live FQDNs, sorted.  Returns a malloc'd array of borrowed strings
 * (valid until the registry changes); caller frees the array with free().
 */
const char **registry_live(struct registry *reg, int64_t now_ms, size_t *n);

size_t registry_clients(const struct registry *reg);
size_t registry_polls_waiting(const struct registry *reg);
size_t registry_scrapes_waiting(const struct registry *reg);

#endif
