/*
 * Authentication.  bcrypt is slow by design (tens of milliseconds) and
 * runs on the event loop, so successful checks are cached, keyed by
 * user and a SHA-256 of hash and password (never the password itself),
 * in a bounded map cleared when full.  Failures are not cached.
 */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "auth.h"
#include "httpserver.h"
#include "log.h"
#include "strmap.h"
#include "tls.h"
#include "webconfig.h"

#define AUTH_CACHE_MAX		1024
#define AUTH_MAX_TOKENS		100000
#define AUTH_MAX_PATTERNS	16
#define AUTH_MAX_SANS		32

const char *const auth_client_mode_names[] = { "none", "cert", "token", NULL };

struct auth_user {
	char	*name;
	char	*hash;
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
	struct strmap		*cache;
	struct crypt_data	*crypt;		/* 32 KiB: kept, not stacked */
};

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
	if ((a->cache = strmap_new()) == NULL ||
	    (a->crypt = calloc(1, sizeof(*a->crypt))) == NULL) {
		auth_free(a);
		return NULL;
	}
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
	strmap_free(a->cache);
	free(a->crypt);
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
	auth_free_users(a->users, a->nusers);
	auth_free_tokens(a->tokens, a->ntokens);
	a->users = users;
	a->nusers = nusers;
	a->tokens = tokens;
	a->ntokens = ntokens;
	strmap_free(a->cache);
	if ((a->cache = strmap_new()) == NULL)
		fatal("out of memory");
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
auth_basic(struct auth *a, const char *header, const char **why)
{
	unsigned char decoded[768];
	char cred[768], key[512], digest[SHA256_DIGEST_LENGTH * 2 + 1];
	const struct auth_user *u;
	const char *b64, *hashed;
	char *colon;
	int n;
	size_t len, pad = 0;
	struct buf kb;

	if (header == NULL) {
		*why = "no credentials";
		return -1;
	}
	if (strncasecmp(header, "Basic ", 6) != 0) {
		*why = "not Basic credentials";
		return -1;
	}
	b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	len = strlen(b64);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 >= sizeof(decoded)) {
		*why = "malformed Basic credentials";
		return -1;
	}
	if ((n = EVP_DecodeBlock(decoded, (const unsigned char *)b64,
	    (int)len)) < 0) {
		*why = "malformed Basic credentials";
		return -1;
	}
	pad = (b64[len - 1] == '=') + (len > 1 && b64[len - 2] == '=');
	n -= (int)pad;
	if (n < 0 || memchr(decoded, '\0', (size_t)n) != NULL) {
		*why = "malformed Basic credentials";
		return -1;
	}
	memcpy(cred, decoded, (size_t)n);
	cred[n] = '\0';
	if ((colon = strchr(cred, ':')) == NULL) {
		*why = "malformed Basic credentials";
		return -1;
	}
	*colon = '\0';
	if ((u = auth_user_find(a, cred)) == NULL) {
		/* Spend the same time as for a known user. */
		(void)crypt_rn(colon + 1, "$2y$10$AAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", a->crypt,
		    (int)sizeof(*a->crypt));
		*why = "unknown user";
		OPENSSL_cleanse(cred, sizeof(cred));
		return -1;
	}
	buf_init(&kb, sizeof(cred) + 80);
	if (buf_puts(&kb, u->hash) == -1 || buf_puts(&kb, ":") == -1 ||
	    buf_puts(&kb, colon + 1) == -1)
		fatal("auth key buffer");
	auth_sha256_hex(kb.data, kb.len, digest);
	OPENSSL_cleanse(kb.data, kb.len);
	buf_release(&kb);
	snprintf(key, sizeof(key), "%s\n%s", u->name, digest);
	if (strmap_get(a->cache, key) != NULL) {
		OPENSSL_cleanse(cred, sizeof(cred));
		return 0;
	}
	/* crypt_rn, not crypt_r: sanitizer runtimes intercept crypt_r. */
	hashed = crypt_rn(colon + 1, u->hash, a->crypt, (int)sizeof(*a->crypt));
	OPENSSL_cleanse(cred, sizeof(cred));
	if (hashed == NULL || strlen(hashed) != strlen(u->hash) ||
	    CRYPTO_memcmp(hashed, u->hash, strlen(u->hash)) != 0) {
		*why = "wrong password";
		return -1;
	}
	if (strmap_count(a->cache) >= AUTH_CACHE_MAX) {
		strmap_free(a->cache);
		if ((a->cache = strmap_new()) == NULL)
			fatal("out of memory");
	}
	(void)strmap_put(a->cache, key, a);
	return 0;
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
