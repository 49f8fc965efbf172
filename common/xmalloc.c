/*
 * The x* allocators: start-up and configuration-load allocations whose
 * failure stops the daemon with a message naming what it was for (see
 * xmalloc.h for where they may be used, and where they may not).
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

static void __attribute__((noreturn))
xmalloc_fail(const char *caller, const char *purpose, size_t n, size_t size)
{
	char	 msg[256];

	snprintf(msg, sizeof(msg), "out of memory: %s (%zu x %zu bytes)",
	    purpose != NULL ? purpose : "allocation", n, size);
	log_fatal(caller, msg);
}

void *
xmalloc(size_t size, const char *purpose)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		xmalloc_fail(__func__, purpose, 1, size);
	return p;
}

void *
xcalloc(size_t n, size_t size, const char *purpose)
{
	void	*p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		xmalloc_fail(__func__, purpose, n, size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size, const char *purpose)
{
	void	*np;

	if (n == 0 || size == 0)
		n = size = 1;
	/* Checked here, as OpenBSD's does: no allocator sees an overflow. */
	if (n > SIZE_MAX / size)
		xmalloc_fail(__func__, purpose, n, size);
	if ((np = reallocarray(p, n, size)) == NULL)
		xmalloc_fail(__func__, purpose, n, size);
	return np;
}

char *
xstrdup(const char *s, const char *purpose)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		xmalloc_fail(__func__, purpose, 1, strlen(s) + 1);
	return p;
}
