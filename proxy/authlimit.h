/*
 * Per-source limit on password checks that fail (--web.auth-failure-limit):
 * a token bucket per source address, holding up to the limit and refilled
 * at the limit per minute.  Each uncached check takes a token before its
 * bcrypt is queued and gives it back if the password was right, so only
 * failures (and checks in flight) count.  Sources live in a bounded table;
 * the least recently seen is forgotten first, and a full bucket is the
 * same as no entry.
 */
#ifndef PUSHPROX_AUTHLIMIT_H
#define PUSHPROX_AUTHLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct authlimit;

#define AUTHLIMIT_SOURCE_LEN	64

/*
 * per_minute 0 disables the limit.  At most max_sources are remembered.
 * NULL on ENOMEM; caller frees with authlimit_free.
 */
struct authlimit *authlimit_new(int64_t per_minute, size_t max_sources);

/* NULL is a no-op. */
void authlimit_free(struct authlimit *l);

/*
 * Takes a token for source.  false when its bucket is empty; *retry_ms
 * (if not NULL) then says when the next token comes.
 */
bool authlimit_take(struct authlimit *l, const char *source, int64_t now_ms,
    int64_t *retry_ms);

/* Gives back a token taken for a check that succeeded. */
void authlimit_give(struct authlimit *l, const char *source, int64_t now_ms);

/* Sources remembered right now. */
size_t authlimit_count(const struct authlimit *l);

/*
 * The source of a peer "1.2.3.4:5" or "[v6]:5": the IPv4 address, or the
 * IPv6 /64 (one host usually owns a whole /64).
 */
void authlimit_source(const char *peer, char out[AUTHLIMIT_SOURCE_LEN]);

#endif
