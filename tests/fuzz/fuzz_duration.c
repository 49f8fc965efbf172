/*
 * common/duration.c and common/bytesize.c: flag values (--poll.timeout,
 * --scrape.max-timeout, sizes) and, from the network, the
 * X-Prometheus-Scrape-Timeout-Seconds header that duration_parse_seconds
 * reads.  The whole input, as a C string, goes to each of the three
 * parsers; its first 8 bytes are also taken as an int64 to format.
 *
 * Invariants: duration_parse leaves *ms alone on failure and gives a value
 * >= 0 on success; duration_format of it parses back to the same value;
 * duration_parse_seconds gives 1..1e15 ms; bytesize_format of a parsed
 * size parses back to the same size; formatting never writes past the
 * buffer and always NUL-terminates.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bytesize.h"
#include "duration.h"

#include "fuzz_util.h"

#define FUZZ_SENTINEL	((int64_t)0x5a5a5a5a5a5a5a5aLL)

/* Formats into exact-size buffers of every small length, then checks. */
static void
fuzz_format_lengths(int64_t v, const char *full, size_t fulllen,
    size_t (*fmt)(int64_t, char *, size_t))
{
	char	*b;
	size_t	 len, n;

	for (len = 0; len <= fulllen + 1; len++) {
		if ((b = malloc(len > 0 ? len : 1)) == NULL)
			abort();
		n = fmt(v, b, len);
		if (len == 0)
			FUZZ_CHECK(n == 0);
		else {
			FUZZ_CHECK(n < len && b[n] == '\0');
			FUZZ_CHECK(n == (len - 1 < fulllen ? len - 1 :
			    fulllen));
			FUZZ_CHECK(memcmp(b, full, n) == 0);
		}
		free(b);
	}
}

static size_t
fuzz_duration_format(int64_t v, char *b, size_t len)
{
	return duration_format(v, b, len);
}

static size_t
fuzz_bytesize_format(int64_t v, char *b, size_t len)
{
	return bytesize_format(v, b, len);
}

static void
fuzz_duration_roundtrip(int64_t ms)
{
	char	 buf[128];
	int64_t	 again = FUZZ_SENTINEL;
	size_t	 n;

	n = duration_format(ms, buf, sizeof(buf));
	FUZZ_CHECK(n == strlen(buf) && n > 0);
	fuzz_format_lengths(ms, buf, n, fuzz_duration_format);
	if (ms < 0) {
		FUZZ_CHECK(buf[0] == '-');
		return;
	}
	if (duration_parse(buf, &again) != 0 || again != ms) {
		fprintf(stderr, "duration %lld formats as \"%s\", which "
		    "parses back as %lld\n", (long long)ms, buf,
		    (long long)again);
		abort();
	}
}

static void
fuzz_bytesize_roundtrip(int64_t v)
{
	char	 buf[128];
	int64_t	 again = FUZZ_SENTINEL;
	size_t	 n;

	n = bytesize_format(v, buf, sizeof(buf));
	FUZZ_CHECK(n == strlen(buf) && n > 0);
	fuzz_format_lengths(v, buf, n, fuzz_bytesize_format);
	if (v < 0)
		return;
	if (bytesize_parse(buf, &again) != 0 || again != v) {
		fprintf(stderr, "size %lld formats as \"%s\", which parses "
		    "back as %lld\n", (long long)v, buf, (long long)again);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s = fuzz_cstr(data, size);
	int64_t	 v = FUZZ_SENTINEL, raw;

	if (duration_parse(s, &v) == 0) {
		FUZZ_CHECK(v >= 0);
		fuzz_duration_roundtrip(v);
	} else
		FUZZ_CHECK(v == FUZZ_SENTINEL);

	v = FUZZ_SENTINEL;
	if (duration_parse_seconds(s, &v) == 0)
		FUZZ_CHECK(v >= 1 && v <= 1000000000000000LL);

	v = FUZZ_SENTINEL;
	if (bytesize_parse(s, &v) == 0) {
		FUZZ_CHECK(v >= 0);
		fuzz_bytesize_roundtrip(v);
	}

	/* Any int64 formats, and a non-negative one round-trips. */
	if (size >= sizeof(raw)) {
		memcpy(&raw, data, sizeof(raw));
		fuzz_duration_roundtrip(raw);
		fuzz_bytesize_roundtrip(raw);
	}
	free(s);
	return 0;
}
