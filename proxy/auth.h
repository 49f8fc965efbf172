/*
 * Who may do what on the proxy.  Scrapers and readers of /clients and
 * /metrics prove themselves with HTTP basic auth against the web config's
 * basic_auth_users (bcrypt); clients (/poll, /push) with a verified TLS
 * certificate or a bearer token, per --client.auth.  The two kinds of
 * credential never stand in for each other.  A client's identity is
 * recorded with each scrape it receives, so only it can push the result.
 */
#ifndef PUSHPROX_AUTH_H
#define PUSHPROX_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct httpreq;
struct webconfig;
struct auth;

enum auth_client_mode {
	AUTH_CLIENT_NONE,
	AUTH_CLIENT_CERT,
	AUTH_CLIENT_TOKEN,
};

extern const char *const auth_client_mode_names[];

#define AUTH_IDENTITY_LEN	80

/* Returns an empty policy (nobody needs credentials); auth_free frees. */
struct auth *auth_new(enum auth_client_mode mode);

/* NULL is a no-op. */
void auth_free(struct auth *a);

/*
 * Replaces the scraper users (from wc, which may be NULL) and the client
 * tokens (from tokens_file, when the mode is token).  On error nothing
 * changes and err says which file, line and why.
 */
int auth_load(struct auth *a, const struct webconfig *wc,
    const char *tokens_file, char *err, size_t errlen);

/* Whether scrapers must authenticate (basic_auth_users is set). */
bool auth_has_users(const struct auth *a);

#define AUTH_HASH_MAX		128	/* bcrypt's are 60 */
#define AUTH_PASSWORD_MAX	768

/*
 * One password check that needs bcrypt, in three steps so that the slow
 * middle one can run on another thread: auth_basic_start (loop thread)
 * fills it, auth_check_run (any thread) touches nothing else,
 * auth_check_finish (loop thread) reads the verdict.  Holds the password
 * until run or auth_check_clear wipes it.
 */
struct auth_check {
	unsigned	 generation;	/* of the users it was made for */
	size_t		 user;		/* index, or SIZE_MAX: unknown user */
	int		 matched;	/* auth_check_run's verdict */
	unsigned char	 digest[32];	/* SHA-256 of hash ":" password */
	char		 hash[AUTH_HASH_MAX];
	char		 password[AUTH_PASSWORD_MAX];
};

enum auth_verdict {
	AUTH_GRANTED,	/* a right password */
	AUTH_REFUSED,	/* missing, malformed or wrong; why says which */
	AUTH_VERIFY,	/* not seen before: the check needs bcrypt */
	AUTH_STALE,	/* the users were reloaded meanwhile: start again */
};

/*
 * Looks at a "Basic ..." credential (Authorization or Proxy-Authorization).
 * A password verified before is granted at once (a SHA-256 and a
 * constant-time compare: microseconds); one never verified gives
 * AUTH_VERIFY with c filled.  why is fit for the log (never the password).
 */
enum auth_verdict auth_basic_start(struct auth *a, const char *header,
    struct auth_check *c, const char **why);

/* The bcrypt of a check; thread-safe, wipes the password. */
void auth_check_run(struct auth_check *c);

/* The verdict of a check that ran; a right password is remembered. */
enum auth_verdict auth_check_finish(struct auth *a, struct auth_check *c,
    const char **why);

/* Wipes the check's password (for a check that will not run). */
void auth_check_clear(struct auth_check *c);

/*
 * All three steps at once, blocking for the bcrypt (for tests and tools).
 * Returns 0 for a right password; -1 otherwise, with *why set.
 */
int auth_basic(struct auth *a, const char *header, const char **why);

/*
 * Establishes a client's identity for /poll and /push.  With fqdn set,
 * also checks the client may claim it.  Returns 0 with identity filled
 * ("" in mode none), or -1 with the HTTP status and reason to answer.
 */
int auth_client(struct auth *a, struct httpreq *req, const char *fqdn,
    char identity[AUTH_IDENTITY_LEN], int *status, char *why, size_t whylen);

/* Whether name matches pattern; "*" matches within one DNS label. */
bool auth_name_match(const char *pattern, const char *name);

#endif
