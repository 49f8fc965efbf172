/*
 * Client identity.  A certificate identifies its client by the SHA-256 of
 * the certificate, a token by the SHA-256 of the token (the tokens file
 * holds only those digests, compared in constant time).  FQDN patterns
 * have "*" for one DNS label, matched case-insensitively.
 */
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

#include "clientauth.h"
#include "httpreq.h"
#include "log.h"
#include "pushprox_limits.h"
#include "tls.h"

const char *const clientauth_mode_names[] = {
	"none", "cert", "token", NULL
};

struct clientauth_token {
	char	 hash[SHA256_DIGEST_LENGTH * 2 + 1];
	char	*patterns[LIMIT_TOKEN_PATTERNS];
	size_t	 npatterns;
};

struct clientauth {
	enum clientauth_mode	 mode;
	struct clientauth_token	*tokens;
	size_t			 ntokens;
};

static void
clientauth_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Returns a new policy; caller frees with clientauth_free. */
struct clientauth *
clientauth_new(enum clientauth_mode mode)
{
	struct clientauth *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->mode = mode;
	return c;
}

static void
clientauth_tokens_free(struct clientauth_token *t, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < t[i].npatterns; j++)
			free(t[i].patterns[j]);
	free(t);
}

void
clientauth_free(struct clientauth *c)
{
	if (c == NULL)
		return;
	clientauth_tokens_free(c->tokens, c->ntokens);
	free(c);
}

/*
 * Reads a tokens file: one client per line, "SHA256HEX PATTERN...", with
 * "#" comments.  A pattern is an FQDN, or has "*" for one DNS label.
 */
static int
clientauth_tokens_read(const char *path, struct clientauth_token **out,
    size_t *nout, char *err, size_t errlen)
{
	FILE *f;
	char line[LIMIT_TOKEN_LINE_BYTES], *p, *save = NULL, *tok;
	struct clientauth_token *t = NULL, *nt;
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
		if (n == LIMIT_CLIENT_TOKENS) {
			snprintf(err, errlen, "%s: line %zu: more than %d "
			    "tokens", path, lineno, LIMIT_CLIENT_TOKENS);
			goto fail;
		}
		if ((nt = realloc(t, (n + 1) * sizeof(*t))) == NULL) {
			snprintf(err, errlen, "%s: line %zu: out of memory",
			    path, lineno);
			goto fail;
		}
		t = nt;
		memset(&t[n], 0, sizeof(t[n]));
		for (i = 0; tok[i] != '\0'; i++)
			t[n].hash[i] = (char)tolower((unsigned char)tok[i]);
		n++;
		while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
			if (t[n - 1].npatterns == LIMIT_TOKEN_PATTERNS) {
				snprintf(err, errlen, "%s: line %zu: more than "
				    "%d FQDN patterns", path, lineno,
				    LIMIT_TOKEN_PATTERNS);
				goto fail;
			}
			if ((t[n - 1].patterns[t[n - 1].npatterns++] =
			    strdup(tok)) == NULL) {
				snprintf(err, errlen, "%s: line %zu: out of "
				    "memory", path, lineno);
				goto fail;
			}
		}
		if (t[n - 1].npatterns == 0) {
			snprintf(err, errlen, "%s: line %zu: a token needs at "
			    "least one FQDN pattern it may claim", path,
			    lineno);
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
	clientauth_tokens_free(t, n);
	return -1;
}

int
clientauth_load(struct clientauth *c, const char *tokens_file, char *err,
    size_t errlen)
{
	struct clientauth_token *tokens = NULL;
	size_t ntokens = 0;

	if (c->mode != CLIENTAUTH_TOKEN)
		return 0;
	if (tokens_file == NULL || *tokens_file == '\0') {
		snprintf(err, errlen, "--client.auth=token needs "
		    "--client.tokens-file");
		return -1;
	}
	if (clientauth_tokens_read(tokens_file, &tokens, &ntokens, err,
	    errlen) == -1)
		return -1;
	clientauth_tokens_free(c->tokens, c->ntokens);
	c->tokens = tokens;
	c->ntokens = ntokens;
	return 0;
}

bool
clientauth_name_match(const char *pattern, const char *name)
{
	for (; *pattern != '\0'; pattern++, name++) {
		if (*pattern == '*') {
			/* One or more characters of a single label. */
			const char *end = strchr(name, '.');
			size_t label = end != NULL ? (size_t)(end - name) :
			    strlen(name);
			size_t i;

			for (i = 1; i <= label; i++)
				if (clientauth_name_match(pattern + 1,
				    name + i))
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
clientauth_cert(struct httpreq *req, const char *fqdn,
    char identity[CLIENTAUTH_IDENTITY_LEN], int *status, char *why,
    size_t whylen)
{
	SSL *ssl = httpreq_ssl(req);
	char names[LIMIT_CERT_NAMES][256];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	X509 *cert;
	int i, n;

	if (ssl == NULL || (n = tls_peer_names(ssl, names,
	    LIMIT_CERT_NAMES)) == -1) {
		*status = 403;
		snprintf(why, whylen, "a verified client certificate is "
		    "required (--client.auth=cert)");
		return -1;
	}
	if (fqdn != NULL) {
		for (i = 0; i < n; i++)
			if (clientauth_name_match(names[i], fqdn))
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
	clientauth_hex(md, mdlen > 32 ? 32 : mdlen, identity + 5);
	return 0;
}

static int
clientauth_token(struct clientauth *c, struct httpreq *req, const char *fqdn,
    char identity[CLIENTAUTH_IDENTITY_LEN], int *status, char *why,
    size_t whylen)
{
	const char *h = httpreq_header(req, "Authorization");
	unsigned char d[SHA256_DIGEST_LENGTH];
	char digest[SHA256_DIGEST_LENGTH * 2 + 1];
	const struct clientauth_token *t = NULL;
	size_t i, j;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		*status = 401;
		snprintf(why, whylen, "a bearer token is required "
		    "(--client.auth=token)");
		return -1;
	}
	SHA256((const unsigned char *)h + 7, strlen(h + 7), d);
	clientauth_hex(d, sizeof(d), digest);
	for (i = 0; i < c->ntokens; i++)
		if (CRYPTO_memcmp(c->tokens[i].hash, digest,
		    sizeof(digest)) == 0)
			t = &c->tokens[i];
	if (t == NULL) {
		*status = 401;
		snprintf(why, whylen, "unknown bearer token");
		return -1;
	}
	if (fqdn != NULL) {
		for (j = 0; j < t->npatterns; j++)
			if (clientauth_name_match(t->patterns[j], fqdn))
				break;
		if (j == t->npatterns) {
			*status = 403;
			snprintf(why, whylen, "token %.12s... may not claim "
			    "FQDN \"%s\"", t->hash, fqdn);
			return -1;
		}
	}
	snprintf(identity, CLIENTAUTH_IDENTITY_LEN, "token:%s", t->hash);
	return 0;
}

int
clientauth_identify(struct clientauth *c, struct httpreq *req,
    const char *fqdn, char identity[CLIENTAUTH_IDENTITY_LEN], int *status,
    char *why, size_t whylen)
{
	identity[0] = '\0';
	switch (c->mode) {
	case CLIENTAUTH_NONE:
		return 0;
	case CLIENTAUTH_CERT:
		return clientauth_cert(req, fqdn, identity, status, why,
		    whylen);
	case CLIENTAUTH_TOKEN:
		return clientauth_token(c, req, fqdn, identity, status, why,
		    whylen);
	}
	*status = 500;
	snprintf(why, whylen, "--client.auth has no mode %d", (int)c->mode);
	return -1;
}
