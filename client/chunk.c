/*
 * Chunked framing of a streamed push body: each call frames what fits of
 * the window as one chunk (a hex size line, the data, CRLF); the last
 * chunk has no trailer fields.  The push's read callback owns the buffer
 * and asks again while curl has room.
 */
#include <stdio.h>
#include <string.h>

#include "chunk.h"

size_t
chunk_put(struct chunk *ch, char *dst, size_t room, const char *src,
    size_t avail, size_t *taken)
{
	size_t	 k;
	int	 hl;

	*taken = 0;
	if (!ch->on) {
		k = room < avail ? room : avail;
		memcpy(dst, src, k);
		*taken = k;
		return k;
	}
	if (room <= CHUNK_OVERHEAD || avail == 0)
		return 0;
	k = room - CHUNK_OVERHEAD;
	if (k > avail)
		k = avail;
	/* At most 16 hex digits and CRLF: it fits in CHUNK_OVERHEAD. */
	hl = snprintf(dst, CHUNK_OVERHEAD, "%zx\r\n", k);
	memcpy(dst + hl, src, k);
	memcpy(dst + hl + k, "\r\n", 2);
	*taken = k;
	return (size_t)hl + k + 2;
}

size_t
chunk_end(struct chunk *ch, char *dst, size_t room)
{
	if (!ch->on || ch->ended || room < 5)
		return 0;
	memcpy(dst, "0\r\n\r\n", 5);
	ch->ended = true;
	return 5;
}
