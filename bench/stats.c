/*
 * Clock, progress lines, latency samples (kept whole and sorted once for
 * nearest-rank percentiles) and a small random number generator.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
bench_sleep(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1)
		;
}

void
bench_log(const char *fmt, ...)
{
	va_list ap;

	fputs("pushprox-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
samples_add(struct samples *s, double v)
{
	double *nv;
	size_t ncap;

	if (s->n == s->cap) {
		ncap = s->cap > 0 ? s->cap * 2 : 4096;
		if ((nv = realloc(s->v, ncap * sizeof(*nv))) == NULL)
			return;		/* a lost sample, not a crash */
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = v;
	s->sorted = false;
}

static int
samples_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
samples_pct(struct samples *s, double pct)
{
	size_t rank;

	if (s->n == 0)
		return NAN;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), samples_cmp);
		s->sorted = true;
	}
	rank = (size_t)ceil(pct / 100.0 * (double)s->n);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

double
samples_max(struct samples *s)
{
	return samples_pct(s, 100.0);
}

void
samples_free(struct samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

double
bench_per(int64_t a, int64_t b, double n)
{
	if (a < 0 || b < 0 || n <= 0)
		return NAN;
	return (double)(a - b) / n;
}

uint32_t
bench_rand(uint64_t *state)
{
	uint64_t x = *state != 0 ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}
