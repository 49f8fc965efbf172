/*
 * One scrape from Prometheus (an absolute-form request such as
 * "GET http://node1:9100/metrics"), from arrival to the last relayed byte.
 * States: WAITING (for a poll of its FQDN) -> SENT (to a client, waiting
 * for its push) -> RELAYING (the push streams through) -> freed.  One
 * deadline, the scrape timeout, covers all three.
 */
#ifndef PUSHPROX_SCRAPE_H
#define PUSHPROX_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

struct httpreq;
struct poll;
struct proxy;
struct push;
struct scrape;

/*
 * The NAME of a named-target path "/pushprox/targets/NAME/metrics" (no
 * query), into name.  0, or -1 if path_query is not of that form or NAME
 * is not a target name.
 */
int scrape_target_name(const char *path_query, char *name, size_t namelen);

/* Takes over an absolute-form request; the scrape frees itself. */
void scrape_start(struct proxy *px, struct httpreq *req);

/*
 * Hands the scrape request to a poll (which answers and frees itself).
 * -1: out of memory; the scrape failed (503) and is freed, the poll is
 * untouched and the caller ends it.
 */
int scrape_hand_to_poll(struct scrape *s, struct poll *p);

/* Why scrape_claim refused a push for a waiting scrape. */
enum scrape_claim_refusal {
	SCRAPE_CLAIM_NONE,
	SCRAPE_CLAIM_IDENTITY,	/* handed to another client identity */
	SCRAPE_CLAIM_FQDN,	/* the push's Pushprox-Fqdn names another */
};

/*
 * A push from identity arrived for id (fqdn: its Pushprox-Fqdn, or NULL
 * when it sent none): returns the scrape, now RELAYING and bound to push,
 * or NULL if no scrape waits for that id (unknown, expired or already
 * answered; *refusal NONE) or, with *refusal set, if the push may not
 * claim it (the scrape keeps waiting for a rightful push).  Borrowed:
 * valid until scrape_relay_end/_fail or push_detach is called.
 */
struct scrape *scrape_claim(struct proxy *px, const char *id,
    const char *identity, const char *fqdn, struct push *push,
    enum scrape_claim_refusal *refusal);

/*
 * A push from identity for id was refused before its head could be read
 * (so the scrape stays claimable): the scrape's 504, if it comes to that,
 * names why.  Unknown ids and other identities are ignored.
 */
void scrape_note_refusal(struct proxy *px, const char *id,
    const char *identity, const char *why);

/* The scraper's request, to stream the reply into; borrowed. */
struct httpreq *scrape_req(struct scrape *s);
const char *scrape_fqdn(const struct scrape *s);

/*
 * Starts the relayed reply (see httpreq_reply_start: -1 means a 502 went
 * out instead); end it with scrape_relay_end all the same.
 */
int scrape_relay_start(struct scrape *s, int status, const char *reason,
    int64_t content_length);

/* The relayed reply is complete: frees the scrape. */
void scrape_relay_end(struct scrape *s);

/*
 * The push failed: before the relayed head went out the scraper gets a
 * 502 naming why; after, its connection is cut (it sees the failure).
 * Frees s.
 */
void scrape_relay_fail(struct scrape *s, const char *why);

/* Writes a random (version 4) UUID, 36 chars + NUL; -1 if no entropy. */
int scrape_new_id(char out[37]);

#endif
