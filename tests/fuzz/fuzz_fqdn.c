/*
 * proxy/poll.c poll_parse_fqdn: the body of POST /poll, straight from the
 * network.  The whole input is the body.  It is parsed into a buffer of
 * the size the proxy uses (254) and into one whose size comes from the
 * input, both exact-size allocations so ASan catches any overrun.
 *
 * Invariants: on success the output is 1..253 bytes of [a-z0-9-._:],
 * shorter than the buffer, NUL-terminated, and equals the input less
 * surrounding white space, lower-cased; on failure there is a reason.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pushprox_limits.h"
#include "poll.h"

#include "fuzz_util.h"

static void
fuzz_fqdn_check(const char *body, size_t len, size_t outlen)
{
	const char	*why = NULL, *p;
	char		*out;
	size_t		 n, i, lead = 0, trail = len;

	if ((out = malloc(outlen)) == NULL)
		abort();
	memset(out, 'X', outlen);
	if (poll_parse_fqdn(body, len, out, outlen, &why) == -1) {
		FUZZ_CHECK(why != NULL);
		fuzz_touch(why);
		free(out);
		return;
	}
	FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
	n = strlen(out);
	FUZZ_CHECK(n >= 1 && n <= LIMIT_MAX_FQDN_BYTES && n < outlen);
	for (p = out; *p != '\0'; p++)
		FUZZ_CHECK((*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._:", *p) != NULL);
	/* It is the trimmed input, lower-cased. */
	while (lead < len && isspace((unsigned char)body[lead]))
		lead++;
	while (trail > lead && isspace((unsigned char)body[trail - 1]))
		trail--;
	FUZZ_CHECK(trail - lead == n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(tolower((unsigned char)body[lead + i]) ==
		    (unsigned char)out[i]);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*body;

	if ((body = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(body, data, size);
	fuzz_fqdn_check(body, size, LIMIT_MAX_FQDN_BYTES + 1);
	/* A buffer size from the input: 1..300 (the first byte). */
	fuzz_fqdn_check(body, size, size > 0 ? 1 + data[0] % 300 : 1);
	free(body);
	return 0;
}
