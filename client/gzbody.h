/*
 * Gzip compression of a push body (--push.compression=gzip): when the
 * target did not compress and the scraper accepts gzip, the client pushes
 * the body gzip-encoded and the proxy relays it as it is.  A held body is
 * compressed whole (it is at most LIMIT_RELAY_HIGH_WATER bytes); a
 * streamed one through one deflate stream and a fixed output buffer of
 * LIMIT_PUSH_GZIP_OUT_BYTES, so memory stays constant whatever the size.
 */
#ifndef PUSHPROX_CLIENT_GZBODY_H
#define PUSHPROX_CLIENT_GZBODY_H

#include <stdbool.h>
#include <stddef.h>

#include <zlib.h>

#include "buf.h"

struct gzbody {
	bool		 on;		/* streaming through zs */
	bool		 ended;		/* Z_STREAM_END written to out */
	z_stream	 zs;
	unsigned char	*out;		/* LIMIT_PUSH_GZIP_OUT_BYTES */
	size_t		 off, len;	/* out[off, len) not yet taken */
};

/*
 * Whether an Accept-Encoding value accepts gzip: a gzip, x-gzip or *
 * coding whose q is not 0.
 */
bool gzbody_accepts(const char *value);

/*
 * Replaces the len bytes of body with their gzip encoding at level; 0, or
 * -1 (out of memory: body unchanged).
 */
int gzbody_whole(struct buf *body, int level);

/* Starts a stream at level (g zeroed or ended); 0, or -1 (out of memory). */
int gzbody_start(struct gzbody *g, int level);

/* Compressed bytes waiting in g->out (g->out + g->off). */
size_t gzbody_pending(const struct gzbody *g);

/*
 * Compresses up to avail bytes of src into the empty output buffer, or
 * with finish the end of the stream; returns the bytes of src taken.
 */
size_t gzbody_deflate(struct gzbody *g, const char *src, size_t avail,
    bool finish);

/* Frees the stream; a no-op when not started. */
void gzbody_end(struct gzbody *g);

#endif
