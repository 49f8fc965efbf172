/*
 * Helpers shared by the harnesses: a tiny deterministic generator for
 * split points (so one input always splits the same way and a crash
 * reproduces), a NUL-terminated copy of the input in its own allocation
 * (so ASan sees any read past the end), and FUZZ_CHECK, which aborts with
 * the failed invariant (libFuzzer then saves the input).
 */
#ifndef PUSHPROX_FUZZ_UTIL_H
#define PUSHPROX_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* xorshift32 over a seed taken from the input; never 0. */
struct fuzz_rng {
	uint32_t	s;
};

static inline void
fuzz_rng_init(struct fuzz_rng *r, uint32_t seed)
{
	r->s = seed * 2654435761u + 0x9e3779b9u;
	if (r->s == 0)
		r->s = 1;
}

static inline uint32_t
fuzz_rng_next(struct fuzz_rng *r)
{
	uint32_t x = r->s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	r->s = x;
	return x;
}

/*
 * The length of the next piece to feed, 1..left.  The mode (from the
 * input's first byte) picks the shape: the whole rest at once, single
 * bytes, small random pieces, or random pieces up to 4 KiB.
 */
static inline size_t
fuzz_next_split(struct fuzz_rng *r, unsigned mode, size_t left)
{
	size_t n;

	switch (mode & 3) {
	case 0:
		n = left;
		break;
	case 1:
		n = 1;
		break;
	case 2:
		n = 1 + fuzz_rng_next(r) % 16;
		break;
	default:
		n = 1 + fuzz_rng_next(r) % 4096;
		break;
	}
	return n < left ? n : left;
}

/* A malloc'd NUL-terminated copy of data (exactly size + 1 bytes). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Reads every byte of a string, so ASan checks it is all in bounds. */
static inline size_t
fuzz_touch(const char *s)
{
	FUZZ_CHECK(s != NULL);
	return strlen(s);
}

#endif
