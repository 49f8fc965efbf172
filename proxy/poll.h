/*
 * One client long-poll (POST /poll, body = the client's FQDN).  It is read,
 * matched with a waiting scrape or parked in the registry, and answered
 * exactly once: with a scrape request (200), with "no work" (204) after
 * --poll.timeout, or not at all when the client hangs up first.
 */
#ifndef PUSHPROX_POLL_H
#define PUSHPROX_POLL_H

struct buf;
struct httpreq;
struct poll;
struct proxy;

/* Takes over a POST /poll request; the poll frees itself when done. */
void poll_start(struct proxy *px, struct httpreq *req);

/*
 * Answers the poll with a serialized scrape request, then frees the poll;
 * sent(ok, arg) later says whether the answer left this host.
 */
void poll_deliver(struct poll *p, const struct buf *request,
    void (*sent)(int ok, void *arg), void *arg);

/*
 * Answers the poll with status and why (counted "rejected"), then frees
 * it: a matched scrape could not be handed over.
 */
void poll_fail(struct poll *p, int status, const char *why);

/*
 * Answers a parked poll 204 "no work" at once, then frees it: the proxy
 * is draining and the client should move on (issue 12).
 */
void poll_release(struct poll *p);

/* The authenticated identity of the polling client ("" if none). */
const char *poll_identity(const struct poll *p);

/* The FQDN the poll registered (lower case); borrowed. */
const char *poll_fqdn(const struct poll *p);

/*
 * Checks and normalizes a poll body into an FQDN: white space trimmed,
 * lower-cased, letters, digits and "-._:" only, 1..LIMIT_MAX_FQDN_BYTES
 * bytes.  Returns 0,
 * or -1 with *why set.
 */
int poll_parse_fqdn(const char *body, size_t len, char *out, size_t outlen,
    const char **why);

#endif
