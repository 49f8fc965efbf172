/*
 * The --tls.* files, loaded once at start with OpenSSL (the library curl
 * loads them with for every connection to the proxy), so that a file that
 * cannot be parsed, or a certificate and key that do not belong together,
 * stop the client at once with a message naming the file(s) and OpenSSL's
 * reason, instead of failing every poll.
 */
#ifndef PUSHPROX_CLIENT_TLSFILES_H
#define PUSHPROX_CLIENT_TLSFILES_H

#include <stddef.h>

/*
 * Loads cacert (CA certificates, PEM), cert (certificate chain, PEM) and
 * key (its private key, PEM, not encrypted) and checks that cert and key
 * match; each may be NULL (not given), but cert and key go together.
 * Returns 0, or -1 with err saying which flag and file and why.
 */
int tlsfiles_check(const char *cacert, const char *cert, const char *key,
    char *err, size_t errlen);

#endif
