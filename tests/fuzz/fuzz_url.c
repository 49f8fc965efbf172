/*
 * common/url.c url_parse: the target of Prometheus' proxy-form request
 * line, and the URL in a poll answer.  The whole input is the URL (as a C
 * string: an embedded NUL ends it, as it would in the daemons).
 *
 * Invariants on success: scheme "http" or "https", a non-empty lower-case
 * host without brackets, a non-zero port (the scheme's default when none
 * was written), path_query starting with "/" and free of any fragment.
 * On failure: a reason, and nothing allocated (callers do not release).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "url.h"

#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url	 u;
	const char	*why = NULL, *p;
	char		*s;
	size_t		 hlen;

	s = fuzz_cstr(data, size);
	if (url_parse(s, &u, &why) == -1) {
		FUZZ_CHECK(why != NULL);
		fuzz_touch(why);
		/* Nothing to release: LeakSanitizer checks that. */
		free(s);
		return 0;
	}
	FUZZ_CHECK(strcmp(u.scheme, "http") == 0 ||
	    strcmp(u.scheme, "https") == 0);
	/* Port 0 only when written: the named-target route. */
	FUZZ_CHECK(u.port != 0 || u.has_port);
	FUZZ_CHECK(url_connectable(&u) == (u.port != 0));
	if (!u.has_port)
		FUZZ_CHECK(u.port == (u.scheme[4] == 's' ? 443 : 80));
	hlen = strnlen(u.host, sizeof(u.host));
	FUZZ_CHECK(hlen > 0 && hlen < sizeof(u.host));
	for (p = u.host; *p != '\0'; p++)
		FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z') && *p != '[' &&
		    *p != ']');
	FUZZ_CHECK(u.path_query != NULL && u.path_query[0] == '/');
	FUZZ_CHECK(strchr(u.path_query, '#') == NULL);
	fuzz_touch(u.path_query);
	url_release(&u);
	free(s);
	return 0;
}
