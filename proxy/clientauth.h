/*
 * Client identity on the proxy (/poll, /push), per --client.auth: none,
 * a verified TLS client certificate whose SAN/CN names the FQDN, or a
 * bearer token bound to FQDN patterns in --client.tokens-file.  A client's
 * identity is recorded with each scrape it receives, so only it can push
 * the result.  Scrapers' passwords are another concept (basicauth.h); the
 * two kinds of credential never stand in for each other.
 */
#ifndef PUSHPROX_CLIENTAUTH_H
#define PUSHPROX_CLIENTAUTH_H

#include <stdbool.h>
#include <stddef.h>

struct clientauth;
struct httpreq;

enum clientauth_mode {
	CLIENTAUTH_NONE,
	CLIENTAUTH_CERT,
	CLIENTAUTH_TOKEN,
};

/* Names accepted by --client.auth, NULL-terminated. */
extern const char *const clientauth_mode_names[];

/* An identity: "cert:" or "token:" and 64 hex digits, NUL (a type size). */
#define CLIENTAUTH_IDENTITY_LEN	80

/* Returns a policy with no tokens; NULL on ENOMEM; clientauth_free frees. */
struct clientauth *clientauth_new(enum clientauth_mode mode);

/* NULL is a no-op. */
void clientauth_free(struct clientauth *c);

/*
 * In token mode, replaces the tokens with those of tokens_file; other
 * modes need nothing.  On error nothing changes and err says which file,
 * line and why.
 */
int clientauth_load(struct clientauth *c, const char *tokens_file,
    char *err, size_t errlen);

/*
 * Establishes a client's identity for /poll and /push.  With fqdn set,
 * also checks the client may claim it.  Returns 0 with identity filled
 * ("" in mode none), or -1 with the HTTP status and reason to answer.
 */
int clientauth_identify(struct clientauth *c, struct httpreq *req,
    const char *fqdn, char identity[CLIENTAUTH_IDENTITY_LEN], int *status,
    char *why, size_t whylen);

/* Whether name matches pattern; "*" matches within one DNS label. */
bool clientauth_name_match(const char *pattern, const char *name);

#endif
