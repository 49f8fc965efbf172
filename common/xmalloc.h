/*
 * Allocation that cannot fail, for start-up and configuration load only
 * (tmux's xmalloc family): on ENOMEM each calls fatal() naming the purpose
 * and size, so the daemon stops before it serves anything.
 *
 * Never use these on a serving path (per connection, request, poll,
 * scrape, push or transfer): there an allocation is checked, and a failure
 * ends only that exchange (503 to the requester, or the connection or
 * transfer closed), logged once with what failed and where.  See "Errors
 * and out-of-memory" in docs/architecture.md.
 */
#ifndef PUSHPROX_XMALLOC_H
#define PUSHPROX_XMALLOC_H

#include <stddef.h>

/*
 * Each returns new memory the caller frees with free(); purpose says what
 * it is for (it appears in the fatal message).  A size of 0 allocates one
 * byte, so the result is never NULL.
 */
void *xmalloc(size_t size, const char *purpose)
    __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size, const char *purpose)
    __attribute__((malloc, returns_nonnull));
/* Resizes p (which may be NULL) to n * size bytes, fatal on overflow. */
void *xreallocarray(void *p, size_t n, size_t size, const char *purpose)
    __attribute__((returns_nonnull));
char *xstrdup(const char *s, const char *purpose)
    __attribute__((malloc, returns_nonnull));

#endif
