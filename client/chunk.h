/*
 * Chunked framing (RFC 9112, 7.1) of a streamed push body whose length the
 * target did not declare, so that a cut push is seen as truncated by the
 * proxy and never passes for a complete scrape.  With framing off the
 * bytes are copied as they are.  Pure: no I/O, no allocation.
 */
#ifndef PUSHPROX_CLIENT_CHUNK_H
#define PUSHPROX_CLIENT_CHUNK_H

#include <stdbool.h>
#include <stddef.h>

/* Room a chunk needs beyond its data: "%zx\r\n" and "\r\n". */
#define CHUNK_OVERHEAD	20

struct chunk {
	bool	 on;		/* chunk-encode; else copy as is */
	bool	 ended;		/* the last chunk was written */
};

/*
 * Writes up to avail bytes of src into dst (room bytes), as one chunk if
 * framing is on.  Returns the bytes written and sets *taken to the bytes
 * of src used; nothing is written when framing is on and room is at most
 * CHUNK_OVERHEAD.
 */
size_t chunk_put(struct chunk *ch, char *dst, size_t room, const char *src,
    size_t avail, size_t *taken);

/*
 * Writes the last chunk ("0\r\n\r\n") once, if framing is on and room
 * allows; returns the bytes written (0 when there is nothing to write).
 */
size_t chunk_end(struct chunk *ch, char *dst, size_t room);

#endif
