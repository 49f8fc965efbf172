/*
 * Authentication.  bcrypt is slow by design (tens of milliseconds), so it
 * never runs on the event loop: auth_basic_start and auth_check_finish are
 * the loop's two cheap halves of a check, auth_check_run the slow middle
 * that the router hands to the worker pool (authpool.c).  Each user
 * remembers the SHA-256 of hash and password (never the password itself)
 * of the last password verified for it, compared in constant time; a
 * reload keeps it for users whose hash did not change.  Failures are not
 * remembered here; authlimit.c counts them per source.
 */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "auth.h"
#include "httpreq.h"
#include "log.h"
#include "tls.h"
#include "webconfig.h"

#define AUTH_MAX_TOKENS		100000
#define AUTH_MAX_PATTERNS	16
#define AUTH_MAX_SANS		32

const char *const auth_client_mode_names[] = { "none", "cert", "token", NULL };

struct auth_user {
	char		*name;
	char		*hash;
	int		 verified;	/* good holds a verified password's */
	unsigned char	 good[SHA256_DIGEST_LENGTH];
};

struct auth_token {
	char	 hash[SHA256_DIGEST_LENGTH * 2 + 1];
	char	*patterns[AUTH_MAX_PATTERNS];
	size_t	 npatterns;
};

struct auth {
	enum auth_client_mode	 mode;
	struct auth_user	*users;
	size_t			 nusers;
	struct auth_token	*tokens;
	size_t			 ntokens;
	unsigned		 generation;	/* of users: bumped by loads */
};

/* What an unknown user's password is hashed against, for equal time. */
static const char auth_dummy_hash[] =
    "$2y$10$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static void
auth_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
auth_sha256_hex(const void *p, size_t n, char out[SHA256_DIGEST_LENGTH * 2 + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256(p, n, d);
	auth_hex(d, sizeof(d), out);
}

struct auth *
auth_new(enum auth_client_mode mode)
{
	struct auth *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->mode = mode;
	return a;
}

static void
auth_free_users(struct auth_user *u, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(u[i].name);
		free(u[i].hash);
	}
	free(u);
}

static void
auth_free_tokens(struct auth_token *t, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < t[i].npatterns; j++)
			free(t[i].patterns[j]);
	free(t);
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	auth_free_users(a->users, a->nusers);
	auth_free_tokens(a->tokens, a->ntokens);
	free(a);
}

/*
 * Reads a tokens file: one client per line, "SHA256HEX PATTERN...", with
 * "#" comments.  A pattern is an FQDN, or has "*" for one DNS label.
 */
static int
auth_tokens_read(const char *path, struct auth_token **out, size_t *nout,
    char *err, size_t errlen)
{
	FILE *f;
	char line[4096], *p, *save = NULL, *tok;
	struct auth_token *t = NULL, *nt;
	size_t n = 0, lineno = 0, i;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s: line %zu: longer than %zu "
			    "bytes", path, lineno, sizeof(line) - 1);
			goto fail;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		if ((tok = strtok_r(line, " \t\r\n", &save)) == NULL)
			continue;
		if (strlen(tok) != SHA256_DIGEST_LENGTH * 2 ||
		    strspn(tok, "0123456789abcdefABCDEF") != strlen(tok)) {
			snprintf(err, errlen, "%s: line %zu: the first field "
			    "must be a token's SHA-256 in hex (64 characters; "
			    "sha256sum prints it)", path, lineno);
			goto fail;
		}
		if (n == AUTH_MAX_TOKENS || (nt = realloc(t, (n + 1) *
		    sizeof(*t))) == NULL) {
			snprintf(err, errlen, "%s: line %zu: too many tokens "
			    "or out of memory", path, lineno);
			goto fail;
		}
		t = nt;
		memset(&t[n], 0, sizeof(t[n]));
		for (i = 0; tok[i] != '\0'; i++)
			t[n].hash[i] = (char)tolower((unsigned char)tok[i]);
		n++;
		while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
			if (t[n - 1].npatterns == AUTH_MAX_PATTERNS) {
				snprintf(err, errlen, "%s: line %zu: more than "
				    "%d FQDN patterns", path, lineno,
				    AUTH_MAX_PATTERNS);
				goto fail;
			}
			if ((t[n - 1].patterns[t[n - 1].npatterns++] =
			    strdup(tok)) == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
		}
		if (t[n - 1].npatterns == 0) {
			snprintf(err, errlen, "%s: line %zu: a token needs at "
			    "least one FQDN pattern it may claim", path, lineno);
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path,
		    strerror(errno));
		goto fail;
	}
	fclose(f);
	*out = t;
	*nout = n;
	return 0;
fail:
	fclose(f);
	auth_free_tokens(t, n);
	return -1;
}

static const struct auth_user *
auth_user_find(const struct auth *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nusers; i++)
		if (strcmp(a->users[i].name, name) == 0)
			return &a->users[i];
	return NULL;
}

int
auth_load(struct auth *a, const struct webconfig *wc, const char *tokens_file,
    char *err, size_t errlen)
{
	struct auth_user *users = NULL;
	struct auth_token *tokens = NULL;
	size_t i, nusers = 0, ntokens = 0;

	if (a->mode == AUTH_CLIENT_TOKEN) {
		if (tokens_file == NULL || *tokens_file == '\0') {
			snprintf(err, errlen, "--client.auth=token needs "
			    "--client.tokens-file");
			return -1;
		}
		if (auth_tokens_read(tokens_file, &tokens, &ntokens, err,
		    errlen) == -1)
			return -1;
	}
	if (wc != NULL && wc->nusers > 0) {
		if ((users = calloc(wc->nusers, sizeof(*users))) == NULL)
			goto nomem;
		for (nusers = 0; nusers < wc->nusers; nusers++) {
			users[nusers].name = strdup(wc->users[nusers].name);
			users[nusers].hash = strdup(wc->users[nusers].hash);
			if (users[nusers].name == NULL ||
			    users[nusers].hash == NULL) {
				nusers++;
				goto nomem;
			}
		}
	}
	/* A verified password stays verified while its hash is the same. */
	for (i = 0; i < nusers; i++) {
		const struct auth_user *old = auth_user_find(a, users[i].name);

		if (old != NULL && old->verified &&
		    strcmp(old->hash, users[i].hash) == 0) {
			users[i].verified = 1;
			memcpy(users[i].good, old->good, sizeof(users[i].good));
		}
	}
	auth_free_users(a->users, a->nusers);
	auth_free_tokens(a->tokens, a->ntokens);
	a->users = users;
	a->nusers = nusers;
	a->tokens = tokens;
	a->ntokens = ntokens;
	a->generation++;
	return 0;
nomem:
	for (i = 0; i < nusers; i++) {
		free(users[i].name);
		free(users[i].hash);
	}
	free(users);
	auth_free_tokens(tokens, ntokens);
	snprintf(err, errlen, "out of memory");
	return -1;
}

bool
auth_has_users(const struct auth *a)
{
	return a->nusers > 0;
}

/* Decodes "Basic base64(user:password)" into cred; the password at *pw. */
static int
auth_basic_decode(const char *header, char *cred, size_t credlen, char **pw,
    const char **why)
{
	unsigned char decoded[AUTH_PASSWORD_MAX];
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
auth_check_digest(struct auth_check *c)
{
	char in[AUTH_HASH_MAX + 1 + AUTH_PASSWORD_MAX];
	size_t hl = strlen(c->hash), pl = strlen(c->password);

	memcpy(in, c->hash, hl);
	in[hl] = ':';
	memcpy(in + hl + 1, c->password, pl);
	SHA256((const unsigned char *)in, hl + 1 + pl, c->digest);
	OPENSSL_cleanse(in, sizeof(in));
}

enum auth_verdict
auth_basic_start(struct auth *a, const char *header, struct auth_check *c,
    const char **why)
{
	char cred[AUTH_PASSWORD_MAX];
	const struct auth_user *u;
	const char *hash;
	char *pw;

	if (auth_basic_decode(header, cred, sizeof(cred), &pw, why) == -1)
		return AUTH_REFUSED;
	u = auth_user_find(a, cred);
	hash = u != NULL ? u->hash : auth_dummy_hash;
	if (strlen(hash) >= sizeof(c->hash)) {
		OPENSSL_cleanse(cred, sizeof(cred));
		*why = "the user's hash is too long";
		return AUTH_REFUSED;
	}
	memset(c, 0, offsetof(struct auth_check, password));
	c->generation = a->generation;
	c->user = u != NULL ? (size_t)(u - a->users) : SIZE_MAX;
	snprintf(c->hash, sizeof(c->hash), "%s", hash);
	/* Fits: cred and c->password are the same size. */
	memcpy(c->password, pw, strlen(pw) + 1);
	OPENSSL_cleanse(cred, sizeof(cred));
	auth_check_digest(c);
	if (u != NULL && u->verified &&
	    CRYPTO_memcmp(u->good, c->digest, sizeof(u->good)) == 0) {
		auth_check_clear(c);
		return AUTH_GRANTED;
	}
	return AUTH_VERIFY;
}

void
auth_check_run(struct auth_check *c)
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
	auth_check_clear(c);
}

enum auth_verdict
auth_check_finish(struct auth *a, struct auth_check *c, const char **why)
{
	struct auth_user *u;

	if (c->generation != a->generation)
		return AUTH_STALE;
	if (c->user == SIZE_MAX || c->user >= a->nusers) {
		*why = "unknown user";
		return AUTH_REFUSED;
	}
	if (!c->matched) {
		*why = "wrong password";
		return AUTH_REFUSED;
	}
	u = &a->users[c->user];
	memcpy(u->good, c->digest, sizeof(u->good));
	u->verified = 1;
	return AUTH_GRANTED;
}

void
auth_check_clear(struct auth_check *c)
{
	OPENSSL_cleanse(c->password, sizeof(c->password));
}

int
auth_basic(struct auth *a, const char *header, const char **why)
{
	struct auth_check *c;
	enum auth_verdict v;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if ((v = auth_basic_start(a, header, c, why)) == AUTH_VERIFY) {
		auth_check_run(c);
		v = auth_check_finish(a, c, why);
	}
	auth_check_clear(c);
	free(c);
	return v == AUTH_GRANTED ? 0 : -1;
}

bool
auth_name_match(const char *pattern, const char *name)
{
	for (; *pattern != '\0'; pattern++, name++) {
		if (*pattern == '*') {
			/* One or more characters of a single label. */
			const char *end = strchr(name, '.');
			size_t label = end != NULL ? (size_t)(end - name) :
			    strlen(name);
			size_t i;

			for (i = 1; i <= label; i++)
				if (auth_name_match(pattern + 1, name + i))
					return true;
			return false;
		}
		if (tolower((unsigned char)*pattern) !=
		    tolower((unsigned char)*name))
			return false;
	}
	return *name == '\0';
}

static int
auth_client_cert(struct auth *a, struct httpreq *req, const char *fqdn,
    char identity[AUTH_IDENTITY_LEN], int *status, char *why, size_t whylen)
{
	SSL *ssl = httpreq_ssl(req);
	char names[AUTH_MAX_SANS][256];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	X509 *cert;
	int i, n;

	if (ssl == NULL || (n = tls_peer_names(ssl, names, AUTH_MAX_SANS)) ==
	    -1) {
		*status = 403;
		snprintf(why, whylen, "a verified client certificate is "
		    "required (--client.auth=cert)");
		return -1;
	}
	if (fqdn != NULL) {
		for (i = 0; i < n; i++)
			if (auth_name_match(names[i], fqdn))
				break;
		if (i == n) {
			*status = 403;
			snprintf(why, whylen, "certificate for \"%s\" may not "
			    "claim FQDN \"%s\"", n > 0 ? names[0] : "", fqdn);
			return -1;
		}
	}
	if ((cert = SSL_get_peer_certificate(ssl)) == NULL ||
	    X509_digest(cert, EVP_sha256(), md, &mdlen) != 1) {
		X509_free(cert);
		*status = 403;
		snprintf(why, whylen, "cannot fingerprint client certificate");
		return -1;
	}
	X509_free(cert);
	memcpy(identity, "cert:", 5);
	auth_hex(md, mdlen > 32 ? 32 : mdlen, identity + 5);
	return 0;
}

static int
auth_client_token(struct auth *a, struct httpreq *req, const char *fqdn,
    char identity[AUTH_IDENTITY_LEN], int *status, char *why, size_t whylen)
{
	const char *h = httpreq_header(req, "Authorization");
	char digest[SHA256_DIGEST_LENGTH * 2 + 1];
	const struct auth_token *t = NULL;
	size_t i, j;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		*status = 401;
		snprintf(why, whylen, "a bearer token is required "
		    "(--client.auth=token)");
		return -1;
	}
	auth_sha256_hex(h + 7, strlen(h + 7), digest);
	for (i = 0; i < a->ntokens; i++)
		if (CRYPTO_memcmp(a->tokens[i].hash, digest,
		    sizeof(digest)) == 0)
			t = &a->tokens[i];
	if (t == NULL) {
		*status = 401;
		snprintf(why, whylen, "unknown bearer token");
		return -1;
	}
	if (fqdn != NULL) {
		for (j = 0; j < t->npatterns; j++)
			if (auth_name_match(t->patterns[j], fqdn))
				break;
		if (j == t->npatterns) {
			*status = 403;
			snprintf(why, whylen, "token %.12s... may not claim "
			    "FQDN \"%s\"", t->hash, fqdn);
			return -1;
		}
	}
	snprintf(identity, AUTH_IDENTITY_LEN, "token:%s", t->hash);
	return 0;
}

int
auth_client(struct auth *a, struct httpreq *req, const char *fqdn,
    char identity[AUTH_IDENTITY_LEN], int *status, char *why, size_t whylen)
{
	identity[0] = '\0';
	switch (a->mode) {
	case AUTH_CLIENT_NONE:
		return 0;
	case AUTH_CLIENT_CERT:
		return auth_client_cert(a, req, fqdn, identity, status, why,
		    whylen);
	case AUTH_CLIENT_TOKEN:
		return auth_client_token(a, req, fqdn, identity, status, why,
		    whylen);
	}
	return -1;
}
