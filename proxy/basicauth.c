/*
 * Scraper passwords.  bcrypt is slow by design (tens of milliseconds), so
 * it never runs on the event loop: basicauth_start and
 * basicauth_check_finish are the loop's two cheap halves of a check,
 * basicauth_check_run the slow middle that the router hands to the worker
 * pool (authpool.c).  Each user remembers the SHA-256 of hash and password
 * (never the password itself) of the last password verified for it,
 * compared in constant time; a reload keeps it for users whose hash did
 * not change.  Failures are not remembered here; authlimit.c counts them
 * per source.
 */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "basicauth.h"
#include "pushprox_limits.h"
#include "webconfig.h"
#include "xmalloc.h"

struct basicauth_user {
	char		*name;
	char		*hash;
	int		 verified;	/* good holds a verified password's */
	unsigned char	 good[SHA256_DIGEST_LENGTH];
};

struct basicauth {
	struct basicauth_user	*users;
	size_t			 nusers;
	unsigned		 generation;	/* of users: bumped by loads */
};

/* What an unknown user's password is hashed against, for equal time. */
static const char basicauth_dummy_hash[] =
    "$2y$10$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/* Returns new users; caller frees with basicauth_free. */
struct basicauth *
basicauth_new(void)
{
	return calloc(1, sizeof(struct basicauth));
}

static void
basicauth_users_free(struct basicauth_user *u, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(u[i].name);
		free(u[i].hash);
	}
	free(u);
}

void
basicauth_free(struct basicauth *b)
{
	if (b == NULL)
		return;
	basicauth_users_free(b->users, b->nusers);
	free(b);
}

static const struct basicauth_user *
basicauth_user_find(const struct basicauth *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nusers; i++)
		if (strcmp(b->users[i].name, name) == 0)
			return &b->users[i];
	return NULL;
}

void
basicauth_load(struct basicauth *b, const struct webconfig *wc)
{
	struct basicauth_user *users = NULL;
	size_t i, nusers = 0;

	if (wc != NULL && wc->nusers > 0) {
		users = xcalloc(wc->nusers, sizeof(*users),
		    "basic_auth_users of --web.config.file");
		for (nusers = 0; nusers < wc->nusers; nusers++) {
			users[nusers].name = xstrdup(wc->users[nusers].name,
			    "a basic_auth_users name");
			users[nusers].hash = xstrdup(wc->users[nusers].hash,
			    "a basic_auth_users hash");
		}
	}
	/* A verified password stays verified while its hash is the same. */
	for (i = 0; i < nusers; i++) {
		const struct basicauth_user *old =
		    basicauth_user_find(b, users[i].name);

		if (old != NULL && old->verified &&
		    strcmp(old->hash, users[i].hash) == 0) {
			users[i].verified = 1;
			memcpy(users[i].good, old->good, sizeof(users[i].good));
		}
	}
	basicauth_users_free(b->users, b->nusers);
	b->users = users;
	b->nusers = nusers;
	b->generation++;
}

bool
basicauth_has_users(const struct basicauth *b)
{
	return b->nusers > 0;
}

/* Decodes "Basic base64(user:password)" into cred; the password at *pw. */
static int
basicauth_decode(const char *header, char *cred, size_t credlen, char **pw,
    const char **why)
{
	unsigned char decoded[LIMIT_AUTH_PASSWORD_BYTES];
	const char *b64;
	char *colon;
	size_t len, pad;
	int n;

	if (header == NULL) {
		*why = "no credentials";
		return -1;
	}
	if (strncasecmp(header, "Basic ", 6) != 0) {
		*why = "not Basic credentials";
		return -1;
	}
	*why = "malformed Basic credentials";
	b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	len = strlen(b64);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 >= sizeof(decoded) ||
	    len / 4 * 3 >= credlen)
		return -1;
	if ((n = EVP_DecodeBlock(decoded, (const unsigned char *)b64,
	    (int)len)) < 0)
		return -1;
	pad = (b64[len - 1] == '=') + (len > 1 && b64[len - 2] == '=');
	n -= (int)pad;
	if (n < 0 || memchr(decoded, '\0', (size_t)n) != NULL) {
		OPENSSL_cleanse(decoded, sizeof(decoded));
		return -1;
	}
	memcpy(cred, decoded, (size_t)n);
	cred[n] = '\0';
	OPENSSL_cleanse(decoded, sizeof(decoded));
	if ((colon = strchr(cred, ':')) == NULL) {
		OPENSSL_cleanse(cred, credlen);
		return -1;
	}
	*colon = '\0';
	*pw = colon + 1;
	return 0;
}

/* SHA-256 of hash ":" password: what a verified password is known by. */
static void
basicauth_check_digest(struct basicauth_check *c)
{
	char in[LIMIT_AUTH_HASH_BYTES + 1 + LIMIT_AUTH_PASSWORD_BYTES];
	size_t hl = strlen(c->hash), pl = strlen(c->password);

	memcpy(in, c->hash, hl);
	in[hl] = ':';
	memcpy(in + hl + 1, c->password, pl);
	SHA256((const unsigned char *)in, hl + 1 + pl, c->digest);
	OPENSSL_cleanse(in, sizeof(in));
}

enum basicauth_verdict
basicauth_start(struct basicauth *b, const char *header,
    struct basicauth_check *c, const char **why)
{
	char cred[LIMIT_AUTH_PASSWORD_BYTES];
	const struct basicauth_user *u;
	const char *hash;
	char *pw;

	if (basicauth_decode(header, cred, sizeof(cred), &pw, why) == -1)
		return BASICAUTH_REFUSED;
	u = basicauth_user_find(b, cred);
	hash = u != NULL ? u->hash : basicauth_dummy_hash;
	if (strlen(hash) >= sizeof(c->hash)) {
		OPENSSL_cleanse(cred, sizeof(cred));
		*why = "the user's hash is too long";
		return BASICAUTH_REFUSED;
	}
	memset(c, 0, offsetof(struct basicauth_check, password));
	c->generation = b->generation;
	c->user = u != NULL ? (size_t)(u - b->users) : SIZE_MAX;
	snprintf(c->hash, sizeof(c->hash), "%s", hash);
	/* Fits: cred and c->password are the same size. */
	memcpy(c->password, pw, strlen(pw) + 1);
	OPENSSL_cleanse(cred, sizeof(cred));
	basicauth_check_digest(c);
	if (u != NULL && u->verified &&
	    CRYPTO_memcmp(u->good, c->digest, sizeof(u->good)) == 0) {
		basicauth_check_clear(c);
		return BASICAUTH_GRANTED;
	}
	return BASICAUTH_VERIFY;
}

void
basicauth_check_run(struct basicauth_check *c)
{
	struct crypt_data cd;	/* 32 KiB: workers have megabytes of stack */
	const char *hashed;
	size_t n = strlen(c->hash);

	memset(&cd, 0, sizeof(cd));
	/* crypt_rn, not crypt_r: sanitizer runtimes intercept crypt_r. */
	hashed = crypt_rn(c->password, c->hash, &cd, (int)sizeof(cd));
	c->matched = hashed != NULL && strlen(hashed) == n &&
	    CRYPTO_memcmp(hashed, c->hash, n) == 0;
	OPENSSL_cleanse(&cd, sizeof(cd));
	basicauth_check_clear(c);
}

enum basicauth_verdict
basicauth_check_finish(struct basicauth *b, struct basicauth_check *c,
    const char **why)
{
	struct basicauth_user *u;

	if (c->generation != b->generation)
		return BASICAUTH_STALE;
	if (c->user == SIZE_MAX || c->user >= b->nusers) {
		*why = "unknown user";
		return BASICAUTH_REFUSED;
	}
	if (!c->matched) {
		*why = "wrong password";
		return BASICAUTH_REFUSED;
	}
	u = &b->users[c->user];
	memcpy(u->good, c->digest, sizeof(u->good));
	u->verified = 1;
	return BASICAUTH_GRANTED;
}

void
basicauth_check_clear(struct basicauth_check *c)
{
	OPENSSL_cleanse(c->password, sizeof(c->password));
}

int
basicauth_verify(struct basicauth *b, const char *header, const char **why)
{
	struct basicauth_check *c;
	enum basicauth_verdict v;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*why = "out of memory for a password check";
		return -1;
	}
	if ((v = basicauth_start(b, header, c, why)) == BASICAUTH_VERIFY) {
		basicauth_check_run(c);
		v = basicauth_check_finish(b, c, why);
	}
	basicauth_check_clear(c);
	free(c);
	return v == BASICAUTH_GRANTED ? 0 : -1;
}
