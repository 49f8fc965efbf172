/*
 * Prometheus durations, parsed as prometheus/common's model.ParseDuration
 * does (units y w d h m s ms, largest first, each at most once, "0" alone
 * allowed) and printed as model.Duration.String does, so that values a user
 * copies from Prometheus' configuration mean the same here.  Everything is
 * int64 milliseconds; any overflow makes the input invalid.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

struct duration_unit {
	const char	*name;
	int64_t		 ms;
	bool		 exact;	/* printed only if it divides evenly */
};

/* Largest first: the parser requires this order, the printer uses it. */
static const struct duration_unit duration_units[] = {
	{ "y",	365LL * 24 * 60 * 60 * 1000,	true },
	{ "w",	7LL * 24 * 60 * 60 * 1000,	true },
	{ "d",	24LL * 60 * 60 * 1000,		false },
	{ "h",	60LL * 60 * 1000,		false },
	{ "m",	60LL * 1000,			false },
	{ "s",	1000,				false },
	{ "ms",	1,				false },
};
#define DURATION_NUNITS	(sizeof(duration_units) / sizeof(duration_units[0]))

/* Index of the unit spelled by the letters at *p (advanced), or -1. */
static int
duration_unit_lookup(const char **p)
{
	const char	*s = *p;
	size_t		 n = 0, i;

	while (s[n] != '\0' && !isdigit((unsigned char)s[n]))
		n++;
	for (i = 0; i < DURATION_NUNITS; i++) {
		if (strlen(duration_units[i].name) == n &&
		    strncmp(s, duration_units[i].name, n) == 0) {
			*p = s + n;
			return (int)i;
		}
	}
	return -1;
}

int
duration_parse(const char *s, int64_t *ms)
{
	const char	*p = s;
	int64_t		 total = 0, v;
	int		 last = -1, u;

	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = 0;
		for (; isdigit((unsigned char)*p); p++) {
			if (v > (INT64_MAX - (*p - '0')) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		if ((u = duration_unit_lookup(&p)) == -1 || u <= last)
			return -1;
		last = u;
		if (v > INT64_MAX / duration_units[u].ms)
			return -1;
		v *= duration_units[u].ms;
		if (v > INT64_MAX - total)
			return -1;
		total += v;
	}
	*ms = total;
	return 0;
}

int
duration_parse_seconds(const char *s, int64_t *ms)
{
	char	*end;
	double	 v;

	/* strtod skips leading blanks; a header value must not have any. */
	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v) || v <= 0 ||
	    v > 1e12)
		return -1;
	v = round(v * 1000.0);
	/* Positive but below half a millisecond still means "some time". */
	*ms = v < 1 ? 1 : (int64_t)v;
	return 0;
}

size_t
duration_format(int64_t ms, char *buf, size_t len)
{
	char		 tmp[96];
	size_t		 off = 0, i, n;
	uint64_t	 rest, v, mult;
	int		 w;

	if (ms < 0) {
		tmp[off++] = '-';
		rest = (uint64_t)-(ms + 1) + 1;	/* safe for INT64_MIN */
	} else
		rest = (uint64_t)ms;
	if (rest == 0) {
		memcpy(tmp, "0s", 3);
		off = 2;
	}
	for (i = 0; i < DURATION_NUNITS && rest > 0; i++) {
		mult = (uint64_t)duration_units[i].ms;
		if (duration_units[i].exact && rest % mult != 0)
			continue;
		if ((v = rest / mult) == 0)
			continue;
		w = snprintf(tmp + off, sizeof(tmp) - off, "%llu%s",
		    (unsigned long long)v, duration_units[i].name);
		if (w < 0 || (size_t)w >= sizeof(tmp) - off)
			break;	/* cannot happen: 96 bytes hold any int64 */
		off += (size_t)w;
		rest -= v * mult;
	}
	tmp[off] = '\0';
	if (len == 0)
		return 0;
	n = off < len - 1 ? off : len - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

void
duration_to_timeval(int64_t ms, struct timeval *tv)
{
	if (ms < 0)
		ms = 0;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}
