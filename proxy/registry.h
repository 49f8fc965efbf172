/*
 * The proxy's coordination state: clients by FQDN, and per client the
 * polls waiting for work and the scrapes waiting for a poll.  Pure data
 * with O(1) lookups and no I/O, so the matching rules are unit-tested
 * alone: a scrape goes to exactly one waiting poll (oldest first), a poll
 * takes the oldest waiting scrape, and no poll ever evicts another.
 *
 * Polls and scrapes embed a struct registry_waiter; the registry links and
 * unlinks it but never owns or frees the object around it.
 *
 * Per client it also keeps what discovery lists (issue 10): the stored
 * advertisement with the tag the client sent it under (owned: freed when
 * replaced, cleared or when the client expires), the client's last peer
 * address and when it last talked to the proxy.
 */
#ifndef PUSHPROX_REGISTRY_H
#define PUSHPROX_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct advert;
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

/*
 * Registers fqdn or refreshes it at now_ms (a poll answered at once, an
 * advertisement: contact that queues nothing).  0, or -1 (ENOMEM).
 */
int registry_register(struct registry *reg, const char *fqdn,
    int64_t now_ms);

/* Records the client's peer address ("IP:PORT") if fqdn is registered. */
void registry_set_peer(struct registry *reg, const char *fqdn,
    const char *peer);

/*
 * Stores advertisement a under tag for a registered fqdn, replacing what
 * was stored, with its discovery groups pre-rendered (sd_prerender; NULL
 * if none).  a, sd_client and sd_targets are taken over (freed by the
 * registry, also on failure).  -1 if fqdn is not registered or tag does
 * not fit.
 */
int registry_set_advert(struct registry *reg, const char *fqdn,
    struct advert *a, const char *tag, char *sd_client, char *sd_targets);

/* Frees the advertisement stored for fqdn, if any. */
void registry_clear_advert(struct registry *reg, const char *fqdn);

/*
 * The advertisement stored for fqdn (borrowed, valid until the registry
 * changes), or NULL; *tag (if tag is not NULL) gets its tag or NULL.
 */
const struct advert *registry_advert(const struct registry *reg,
    const char *fqdn, const char **tag);

/* One live client as discovery renders it; every pointer is borrowed. */
struct registry_entry {
	const char		*fqdn;
	const struct advert	*advert;	/* NULL: none stored */
	const char		*sd_client;	/* pre-rendered, or NULL */
	const char		*sd_targets;	/* pre-rendered, or NULL */
	const char		*address;	/* last peer, or NULL */
	int64_t			 last_seen_ms;
	bool			 poll_open;	/* a poll is parked now */
};

/*
 * The live clients, sorted by FQDN: a malloc'd array the caller frees
 * with free(); its pointers are valid until the registry changes.  NULL
 * on ENOMEM.
 */
struct registry_entry *registry_snapshot(struct registry *reg,
    int64_t now_ms, size_t *n);

/* Registered clients with an advertisement stored. */
size_t registry_adverts(const struct registry *reg);

size_t registry_clients(const struct registry *reg);
size_t registry_polls_waiting(const struct registry *reg);
size_t registry_scrapes_waiting(const struct registry *reg);

#endif
