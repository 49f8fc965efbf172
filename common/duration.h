/*
 * Durations in Prometheus syntax: a sequence of <integer><unit> with units
 * y, w, d, h, m, s, ms in decreasing order, each at most once ("1h30m",
 * "250ms", "0").  Internally every duration is int64 milliseconds.
 */
#ifndef PUSHPROX_DURATION_H
#define PUSHPROX_DURATION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

/* Parses s into *ms; returns 0, or -1 (and leaves *ms alone) if invalid. */
int duration_parse(const char *s, int64_t *ms);

/*
 * Parses a decimal number of seconds ("10", "9.87") as sent in
 * X-Prometheus-Scrape-Timeout-Seconds; must be finite and > 0.
 */
int duration_parse_seconds(const char *s, int64_t *ms);

/* Writes ms in Prometheus syntax ("1m30s", "0s"); returns strlen. */
size_t duration_format(int64_t ms, char *buf, size_t len);

/* Converts milliseconds to a struct timeval for libevent timers. */
void duration_to_timeval(int64_t ms, struct timeval *tv);

#endif
