/*
 * Environment proxies, Go's way (see netpolicy.h).  The values are read
 * once; the NO_PROXY list handed to curl is the environment's followed by
 * the loopback names, so curl's matching (host names with their
 * subdomains, IPv4 and IPv6 addresses and CIDR ranges) does the rest.
 * The proxy itself is chosen by the URL's scheme here, not by curl, which
 * ignores HTTP_PROXY in upper case and would read ALL_PROXY.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "netpolicy.h"

/* Never proxied (Go's net/http/httpproxy: localhost and loopback IPs). */
#define NETPOLICY_LOOPBACK	"localhost,127.0.0.0/8,::1"

struct netpolicy {
	char	*http_proxy;	/* "" if unset */
	char	*https_proxy;
	char	*noproxy;	/* CURLOPT_NOPROXY */
};

static char *
netpolicy_dup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* Whether s is only white space and commas. */
static bool
netpolicy_blank(const char *s)
{
	return s == NULL || s[strspn(s, " \t,")] == '\0';
}

struct netpolicy *
netpolicy_new(const char *http_proxy, const char *https_proxy,
    const char *no_proxy)
{
	struct netpolicy	*np;
	struct buf		 b;
	const char		*t;

	if ((np = calloc(1, sizeof(*np))) == NULL)
		return NULL;
	np->http_proxy = netpolicy_dup(http_proxy);
	np->https_proxy = netpolicy_dup(https_proxy);
	if (no_proxy != NULL) {
		t = no_proxy + strspn(no_proxy, " \t");
		if (strncmp(t, "*", 1) == 0 && t[1 + strspn(t + 1, " \t")] ==
		    '\0') {
			/* Everything direct; curl wants "*" on its own. */
			np->noproxy = strdup("*");
			goto out;
		}
	}
	buf_init(&b, (no_proxy != NULL ? strlen(no_proxy) : 0) +
	    sizeof(NETPOLICY_LOOPBACK) + 1);
	if ((!netpolicy_blank(no_proxy) &&
	    (buf_puts(&b, no_proxy) == -1 || buf_puts(&b, ",") == -1)) ||
	    buf_puts(&b, NETPOLICY_LOOPBACK) == -1)
		buf_release(&b);
	np->noproxy = b.data;
out:
	if (np->http_proxy == NULL || np->https_proxy == NULL ||
	    np->noproxy == NULL) {
		netpolicy_free(np);
		return NULL;
	}
	return np;
}

/* NAME, else name, as Go's envOr does; NULL if both unset or empty. */
static const char *
netpolicy_getenv(const char *upper, const char *lower)
{
	const char	*v = getenv(upper);

	if (v == NULL || v[0] == '\0')
		v = getenv(lower);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

struct netpolicy *
netpolicy_new_env(void)
{
	return netpolicy_new(netpolicy_getenv("HTTP_PROXY", "http_proxy"),
	    netpolicy_getenv("HTTPS_PROXY", "https_proxy"),
	    netpolicy_getenv("NO_PROXY", "no_proxy"));
}

void
netpolicy_free(struct netpolicy *np)
{
	if (np == NULL)
		return;
	free(np->http_proxy);
	free(np->https_proxy);
	free(np->noproxy);
	free(np);
}

const char *
netpolicy_proxy(const struct netpolicy *np, const char *url)
{
	if (url == NULL)
		return "";
	if (strncasecmp(url, "https://", 8) == 0)
		return np->https_proxy;
	if (strncasecmp(url, "http://", 7) == 0)
		return np->http_proxy;
	return "";
}

const char *
netpolicy_noproxy(const struct netpolicy *np)
{
	return np->noproxy;
}

int
netpolicy_apply(const struct netpolicy *np, CURL *e, const char *url)
{
	/* "" disables curl's own reading of the environment. */
	if (curl_easy_setopt(e, CURLOPT_PROXY, netpolicy_proxy(np, url)) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOPROXY, np->noproxy) != CURLE_OK)
		return -1;
	return 0;
}
