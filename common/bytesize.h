/*
 * Byte sizes as flags take them: a plain integer, or an integer with a unit
 * B, KB/KiB, MB/MiB, GB/GiB, TB/TiB.  As in Prometheus' own size flags, the
 * units are powers of 1024 whether or not the "i" is written.
 */
#ifndef PUSHPROX_BYTESIZE_H
#define PUSHPROX_BYTESIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into *out; returns 0, or -1 if invalid or over INT64_MAX. */
int bytesize_parse(const char *s, int64_t *out);

/* Writes n with the largest exact binary unit ("64KiB", "1000B"). */
size_t bytesize_format(int64_t n, char *buf, size_t len);

#endif
