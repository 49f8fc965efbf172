/*
 * Scrapers and readers of /clients and /metrics prove themselves with HTTP
 * basic auth against the web config's basic_auth_users (bcrypt).  A
 * password verified before is known by a digest and granted at once; one
 * never verified needs a bcrypt, split into three steps so that the slow
 * middle one runs on a worker thread (authpool.c).  Client identity (/poll,
 * /push) is another concept: clientauth.h.
 */
#ifndef PUSHPROX_BASICAUTH_H
#define PUSHPROX_BASICAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "pushprox_limits.h"

struct basicauth;
struct webconfig;

/* Returns an empty user list (nobody needs a password); NULL on ENOMEM. */
struct basicauth *basicauth_new(void);

/* NULL is a no-op. */
void basicauth_free(struct basicauth *b);

/*
 * Replaces the users with wc's basic_auth_users (wc may be NULL: none).
 * A verified password stays verified while its user's hash is the same.
 * A configuration load: out of memory is fatal (xmalloc.h).
 */
void basicauth_load(struct basicauth *b, const struct webconfig *wc);

/* Whether scrapers must authenticate (basic_auth_users is set). */
bool basicauth_has_users(const struct basicauth *b);

/*
 * One password check that needs bcrypt: basicauth_start (loop thread)
 * fills it, basicauth_check_run (any thread) touches nothing else,
 * basicauth_check_finish (loop thread) reads the verdict.  Holds the
 * password until run or basicauth_check_clear wipes it.
 */
struct basicauth_check {
	unsigned	 generation;	/* of the users it was made for */
	size_t		 user;		/* index, or SIZE_MAX: unknown user */
	int		 matched;	/* basicauth_check_run's verdict */
	unsigned char	 digest[32];	/* SHA-256 of hash ":" password */
	char		 hash[LIMIT_AUTH_HASH_BYTES];
	char		 password[LIMIT_AUTH_PASSWORD_BYTES];
};

enum basicauth_verdict {
	BASICAUTH_GRANTED,	/* a right password */
	BASICAUTH_REFUSED,	/* missing, malformed or wrong: see why */
	BASICAUTH_VERIFY,	/* not seen before: the check needs bcrypt */
	BASICAUTH_STALE,	/* the users were reloaded meanwhile: again */
};

/*
 * Looks at a "Basic ..." credential (Authorization or Proxy-Authorization).
 * A password verified before is granted at once (a SHA-256 and a
 * constant-time compare: microseconds); one never verified gives
 * BASICAUTH_VERIFY with c filled.  why is fit for the log (never the
 * password).
 */
enum basicauth_verdict basicauth_start(struct basicauth *b,
    const char *header, struct basicauth_check *c, const char **why);

/* The bcrypt of a check; thread-safe, wipes the password. */
void basicauth_check_run(struct basicauth_check *c);

/* The verdict of a check that ran; a right password is remembered. */
enum basicauth_verdict basicauth_check_finish(struct basicauth *b,
    struct basicauth_check *c, const char **why);

/* Wipes the check's password (for a check that will not run). */
void basicauth_check_clear(struct basicauth_check *c);

/*
 * All three steps at once, blocking for the bcrypt (for tests and tools).
 * Returns 0 for a right password; -1 otherwise, with *why set.
 */
int basicauth_verify(struct basicauth *b, const char *header,
    const char **why);

#endif
