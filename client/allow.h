/*
 * Which targets the client agrees to scrape on its own host
 * (--scrape.allow): a list of rules "PORT", "PORT/PATH" or "STAR/PATH",
 * STAR being a literal "*" for any port (it cannot sit next to a slash in
 * a C comment): "9100", "9100/metrics", or "*" followed by "/probe".  A
 * scrape is allowed when one rule matches both its port and its URL path
 * (exactly, without the query); an empty list allows everything, as the
 * reference does.  Pure: no I/O, no globals.
 */
#ifndef PUSHPROX_CLIENT_ALLOW_H
#define PUSHPROX_CLIENT_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct allow;

/* Returns an empty list (allows everything); allow_free frees. */
struct allow *allow_new(void);

/* NULL is a no-op. */
void allow_free(struct allow *a);

/*
 * Checks pattern and adds it.  Returns 0; or -1 with *why set to what is
 * wrong with it (a static string), or to "out of memory".
 */
int allow_add(struct allow *a, const char *pattern, const char **why);

/* Rules added so far. */
size_t allow_count(const struct allow *a);

/*
 * Whether a scrape of port and path ("/metrics", no query) is allowed.
 * With no rules, always true, except for port 0 (never: it is the
 * named-target route, not a port to connect to).
 */
bool allow_match(const struct allow *a, uint16_t port, const char *path);

/*
 * Writes why a scrape of port and path is refused into out (always
 * NUL-terminated, truncated to outlen), e.g. "port 22 and path / are not
 * allowed by --scrape.allow (allowed: 9100/metrics, STAR/probe)".
 */
void allow_explain(const struct allow *a, uint16_t port, const char *path,
    char *out, size_t outlen);

#endif
