/*
 * OpenSSL server contexts.  The toolkit's client_auth_type values map to
 * OpenSSL verify modes:
 *   NoClientCert              SSL_VERIFY_NONE
 *   RequestClientCert         ask, accept anything (not verified)
 *   RequireAnyClientCert      require, do not verify
 *   VerifyClientCertIfGiven   ask, verify if given
 *   RequireAndVerifyClientCert require and verify
 * "Verified" below always means OpenSSL's chain verification succeeded.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "webconfig.h"

static int
tls_accept_any_cb(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

static void
tls_error(char *err, size_t errlen, const char *file, const char *what)
{
	unsigned long e = ERR_get_error();
	char ebuf[256];

	ERR_error_string_n(e, ebuf, sizeof(ebuf));
	snprintf(err, errlen, "%s: %s: %s", file, what,
	    e != 0 ? ebuf : "unknown error");
	ERR_clear_error();
}

SSL_CTX *
tls_server_ctx_new(const struct webconfig *wc, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int mode = SSL_VERIFY_NONE;
	SSL_verify_cb cb = NULL;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "TLS", "cannot create context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, wc->min_version);
	if (wc->max_version != 0)
		SSL_CTX_set_max_proto_version(ctx, wc->max_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, wc->cert_file) != 1) {
		tls_error(err, errlen, wc->cert_file,
		    "cannot load certificate (cert_file)");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, wc->key_file,
	    SSL_FILETYPE_PEM) != 1) {
		tls_error(err, errlen, wc->key_file,
		    "cannot load private key (key_file)");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen, wc->key_file,
		    "key_file does not match cert_file");
		goto fail;
	}
	if (wc->client_ca_file != NULL) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, wc->client_ca_file,
		    NULL) != 1) {
			tls_error(err, errlen, wc->client_ca_file,
			    "cannot load client CA (client_ca_file)");
			goto fail;
		}
		if ((names = SSL_load_client_CA_file(wc->client_ca_file)) !=
		    NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	switch (wc->client_auth) {
	case WEBCONFIG_NO_CLIENT_CERT:
		break;
	case WEBCONFIG_REQUEST_CLIENT_CERT:
		mode = SSL_VERIFY_PEER;
		cb = tls_accept_any_cb;
		break;
	case WEBCONFIG_REQUIRE_ANY_CLIENT_CERT:
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		cb = tls_accept_any_cb;
		break;
	case WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN:
		mode = SSL_VERIFY_PEER;
		break;
	case WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT:
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		break;
	}
	SSL_CTX_set_verify(ctx, mode, cb);
	/* Sessions would let a resumed connection skip the client check. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

bool
tls_peer_verified(SSL *ssl)
{
	X509 *cert;
	bool ok;

	if (ssl == NULL || (cert = SSL_get_peer_certificate(ssl)) == NULL)
		return false;
	ok = SSL_get_verify_result(ssl) == X509_V_OK;
	X509_free(cert);
	return ok;
}

int
tls_peer_names(SSL *ssl, char names[][256], size_t max)
{
	X509 *cert;
	GENERAL_NAMES *sans;
	int i, count = 0;

	if (!tls_peer_verified(ssl) ||
	    (cert = SSL_get_peer_certificate(ssl)) == NULL)
		return -1;
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (sans != NULL) {
		for (i = 0; i < sk_GENERAL_NAME_num(sans) &&
		    (size_t)count < max; i++) {
			const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
			const unsigned char *d;
			int len;

			if (gn->type != GEN_DNS)
				continue;
			d = ASN1_STRING_get0_data(gn->d.dNSName);
			len = ASN1_STRING_length(gn->d.dNSName);
			/* An embedded NUL would let a name pose as another. */
			if (len <= 0 || len >= 256 ||
			    memchr(d, '\0', (size_t)len) != NULL)
				continue;
			memcpy(names[count], d, (size_t)len);
			names[count++][len] = '\0';
		}
		GENERAL_NAMES_free(sans);
	}
	if (count == 0 && max > 0 && X509_NAME_get_text_by_NID(
	    X509_get_subject_name(cert), NID_commonName, names[0], 256) > 0)
		count = 1;
	X509_free(cert);
	return count;
}
