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

/*
 * Checks a "Basic ..." credential (Authorization or Proxy-Authorization).
 * Returns 0 if it names a user whose bcrypt hash matches; -1 otherwise,
 * with *why set to a reason fit for the log (never the password).
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
