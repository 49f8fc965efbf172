/*
 * Start-up check of the client's TLS files in a throw-away SSL_CTX: the CA
 * file with SSL_CTX_load_verify_locations and the certificate with
 * SSL_CTX_use_certificate_chain_file, as curl does; the key is parsed on
 * its own first (PEM_read_bio_PrivateKey), because SSL_CTX_use_PrivateKey
 * already compares it with the certificate, and a mismatch must not be
 * reported as a key that cannot be read.  SSL_CTX_check_private_key then
 * confirms the pair.  A passphrase callback that always fails keeps
 * OpenSSL from prompting on the terminal for an encrypted key.  The first
 * error on OpenSSL's queue (the most specific one) becomes the reason.
 */
#include <stdio.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tlsfiles.h"

/* No passphrase support: an encrypted key fails to load. */
static int
tlsfiles_password_cb(char *buf, int size, int rwflag, void *arg)
{
	return 0;
}

/* OpenSSL's reason for the last failure, and an empty queue. */
static void
tlsfiles_reason(char *out, size_t outlen)
{
	unsigned long	 e = ERR_peek_error();
	const char	*lib, *reason;

	lib = e != 0 ? ERR_lib_error_string(e) : NULL;
	reason = e != 0 ? ERR_reason_error_string(e) : NULL;
	if (reason == NULL)
		snprintf(out, outlen, "unknown OpenSSL error");
	else
		snprintf(out, outlen, "%s%s%s", lib != NULL ? lib : "",
		    lib != NULL ? ": " : "", reason);
	ERR_clear_error();
}

/* Parses a PEM private key file; NULL after ERR_* was set. */
static EVP_PKEY *
tlsfiles_read_key(const char *path)
{
	BIO		*bio;
	EVP_PKEY	*pkey;

	if ((bio = BIO_new_file(path, "r")) == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, tlsfiles_password_cb, NULL);
	BIO_free(bio);
	return pkey;
}

int
tlsfiles_check(const char *cacert, const char *cert, const char *key,
    char *err, size_t errlen)
{
	SSL_CTX		*ctx;
	EVP_PKEY	*pkey = NULL;
	char		 why[256];
	int		 rv = -1;

	if (cacert == NULL && cert == NULL && key == NULL)
		return 0;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tlsfiles_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot create a TLS context: %s", why);
		return -1;
	}
	SSL_CTX_set_default_passwd_cb(ctx, tlsfiles_password_cb);
	if (cacert != NULL &&
	    SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1) {
		tlsfiles_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot load --tls.cacert file \"%s\": "
		    "%s", cacert, why);
		goto out;
	}
	if (cert != NULL &&
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tlsfiles_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot load --tls.cert file \"%s\" as "
		    "PEM certificates: %s", cert, why);
		goto out;
	}
	if (key != NULL && (pkey = tlsfiles_read_key(key)) == NULL) {
		tlsfiles_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot load --tls.key file \"%s\" as an "
		    "unencrypted PEM private key: %s", key, why);
		goto out;
	}
	if (cert != NULL && pkey != NULL &&
	    (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)) {
		tlsfiles_reason(why, sizeof(why));
		snprintf(err, errlen, "--tls.cert file \"%s\" and --tls.key "
		    "file \"%s\" do not match: %s", cert, key, why);
		goto out;
	}
	rv = 0;
out:
	EVP_PKEY_free(pkey);
	SSL_CTX_free(ctx);
	return rv;
}
