/*
 * Byte sizes for flags, in the spelling Prometheus' size flags use
 * (alecthomas/units Base2Bytes): an integer and an optional case-sensitive
 * unit, every unit a power of 1024.  Formatting picks the largest unit that
 * divides exactly, so a printed size parses back to the same value.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "bytesize.h"

struct bytesize_unit {
	const char	*name;
	int		 shift;
};

static const struct bytesize_unit bytesize_units[] = {
	{ "B", 0 },
	{ "KB", 10 }, { "KiB", 10 },
	{ "MB", 20 }, { "MiB", 20 },
	{ "GB", 30 }, { "GiB", 30 },
	{ "TB", 40 }, { "TiB", 40 },
};
#define BYTESIZE_NUNITS	(sizeof(bytesize_units) / sizeof(bytesize_units[0]))

int
bytesize_parse(const char *s, int64_t *out)
{
	const char	*p = s;
	int64_t		 v = 0;
	size_t		 i;
	int		 shift = -1;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (*p == '\0')
		shift = 0;
	for (i = 0; shift == -1 && i < BYTESIZE_NUNITS; i++) {
		if (strcmp(p, bytesize_units[i].name) == 0)
			shift = bytesize_units[i].shift;
	}
	if (shift == -1)
		return -1;
	if (v > (INT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

size_t
bytesize_format(int64_t n, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB",
	    "TiB" };
	uint64_t	 mag;
	int		 u = 0, w;

	if (len == 0)
		return 0;
	mag = n < 0 ? (uint64_t)-(n + 1) + 1 : (uint64_t)n;
	while (mag != 0 && u < 4 && mag % 1024 == 0) {
		mag /= 1024;
		u++;
	}
	w = snprintf(buf, len, "%s%llu%s", n < 0 ? "-" : "",
	    (unsigned long long)mag, names[u]);
	if (w < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)w < len ? (size_t)w : len - 1;
}
