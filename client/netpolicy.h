/*
 * Environment proxies as the Go client uses them (net/http's
 * ProxyFromEnvironment): HTTP_PROXY for http URLs, HTTPS_PROXY for https
 * ones, NO_PROXY for the exceptions, each read in upper case first, then
 * lower case, once at start-up.  Unlike libcurl's own handling (which
 * reads only http_proxy in lower case and proxies "localhost" like any
 * other host), localhost and loopback addresses (127.0.0.0/8, ::1) are
 * never sent through a proxy: Go's rule.  Applied to every transfer the
 * client makes (poll, push, advertise and targets) by setting
 * CURLOPT_PROXY and CURLOPT_NOPROXY explicitly, so curl's environment
 * handling never decides.
 */
#ifndef PUSHPROX_CLIENT_NETPOLICY_H
#define PUSHPROX_CLIENT_NETPOLICY_H

#include <curl/curl.h>

struct netpolicy;

/*
 * The policy of these values (NULL or "": unset).  Returns NULL on
 * ENOMEM; caller frees with netpolicy_free.
 */
struct netpolicy *netpolicy_new(const char *http_proxy,
    const char *https_proxy, const char *no_proxy);

/* The policy of this process's environment (read once, here). */
struct netpolicy *netpolicy_new_env(void);

/* NULL is a no-op. */
void netpolicy_free(struct netpolicy *np);

/*
 * The proxy for a URL by its scheme ("" for none; url NULL, or not http
 * or https: none), before NO_PROXY.  Borrowed.
 */
const char *netpolicy_proxy(const struct netpolicy *np, const char *url);

/*
 * The CURLOPT_NOPROXY list: NO_PROXY followed by localhost, 127.0.0.0/8
 * and ::1 (or "*" when NO_PROXY is "*").  Borrowed.
 */
const char *netpolicy_noproxy(const struct netpolicy *np);

/*
 * Sets CURLOPT_PROXY and CURLOPT_NOPROXY on e for a transfer of url
 * (NULL: a transfer over a Unix socket, never proxied).  0, or -1 if curl
 * refused an option.
 */
int netpolicy_apply(const struct netpolicy *np, CURL *e, const char *url);

#endif
