/*
 * TLS for the proxy's listener, with OpenSSL: a server SSL_CTX built from
 * the web configuration, and the names a verified client certificate
 * proves.  A new SSL_CTX is built on every reload; connections keep the
 * one they started with (SSL objects hold a reference).
 */
#ifndef PUSHPROX_TLS_H
#define PUSHPROX_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct webconfig;

/*
 * Builds a server context: certificate chain and key (checked to match),
 * client CA and verification mode, protocol versions.  Returns it (caller
 * frees with SSL_CTX_free), or NULL with err naming the file and problem.
 */
SSL_CTX *tls_server_ctx_new(const struct webconfig *wc, char *err,
    size_t errlen);

/*
 * The peer certificate's DNS subjectAltNames, or its CN when it has none,
 * if the certificate was verified.  Writes up to max names (borrowed from
 * the caller-provided storage in names, each up to 256 bytes) and returns
 * how many, or -1 when there is no verified certificate.
 */
int tls_peer_names(SSL *ssl, char names[][256], size_t max);

/* Whether a verified client certificate was presented. */
bool tls_peer_verified(SSL *ssl);

#endif
