/*
 * Gzip push bodies (see gzbody.h): deflate with the gzip wrapper
 * (windowBits 15 + 16, memLevel 8: about 256 KiB of zlib state per
 * compressing job), either over a whole held body into a buffer of
 * deflateBound bytes, or as a stream whose output goes through g->out,
 * which the push's read callback empties (chunk-framed) before more input
 * is taken.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "gzbody.h"
#include "pushprox_limits.h"

#define GZBODY_WBITS	(15 + 16)	/* gzip wrapper */
#define GZBODY_MEMLEVEL	8

/* Whether a q parameter (after "q=") is zero: 0, 0., 0.0, 0.00, 0.000. */
static bool
gzbody_q_zero(const char *q, size_t len)
{
	size_t	 i;

	if (len == 0 || q[0] != '0')
		return false;
	if (len == 1)
		return true;
	if (q[1] != '.')
		return false;
	for (i = 2; i < len; i++)
		if (q[i] != '0')
			return false;
	return true;
}

bool
gzbody_accepts(const char *v)
{
	size_t	 tlen, plen;
	const char *p, *end;
	bool	 zero;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		tlen = strcspn(v, " \t,;");
		end = v + strcspn(v, ",");
		zero = false;
		/* Parameters: only q matters. */
		for (p = v + tlen; p < end; ) {
			p += strspn(p, " \t;");
			if (p >= end)
				break;
			plen = strcspn(p, " \t;,");
			if (plen > 2 && strncasecmp(p, "q=", 2) == 0)
				zero = gzbody_q_zero(p + 2, plen - 2);
			p += plen;
		}
		if (!zero && ((tlen == 4 && strncasecmp(v, "gzip", 4) == 0) ||
		    (tlen == 6 && strncasecmp(v, "x-gzip", 6) == 0) ||
		    (tlen == 1 && *v == '*')))
			return true;
		v = end;
	}
	return false;
}

int
gzbody_whole(struct buf *body, int level)
{
	z_stream	 zs;
	unsigned char	*out;
	uLong		 bound;
	int		 rc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level, Z_DEFLATED, GZBODY_WBITS, GZBODY_MEMLEVEL,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&zs, (uLong)body->len);
	if ((out = malloc(bound)) == NULL) {
		deflateEnd(&zs);
		return -1;
	}
	zs.next_in = (unsigned char *)body->data;
	zs.avail_in = (uInt)body->len;
	zs.next_out = out;
	zs.avail_out = (uInt)bound;
	rc = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		/* deflateBound is enough by zlib's contract; never here. */
		free(out);
		return -1;
	}
	free(body->data);
	body->data = (char *)out;
	body->len = zs.total_out;
	body->alloc = bound;
	return 0;
}

int
gzbody_start(struct gzbody *g, int level)
{
	memset(g, 0, sizeof(*g));
	if ((g->out = malloc(LIMIT_PUSH_GZIP_OUT_BYTES)) == NULL)
		return -1;
	if (deflateInit2(&g->zs, level, Z_DEFLATED, GZBODY_WBITS,
	    GZBODY_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g->out);
		g->out = NULL;
		return -1;
	}
	g->on = true;
	return 0;
}

size_t
gzbody_pending(const struct gzbody *g)
{
	return g->len - g->off;
}

size_t
gzbody_deflate(struct gzbody *g, const char *src, size_t avail, bool finish)
{
	size_t	 in = avail > UINT32_MAX / 2 ? UINT32_MAX / 2 : avail;
	int	 rc;

	if (g->ended)
		return 0;
	g->off = g->len = 0;
	g->zs.next_in = (unsigned char *)src;
	g->zs.avail_in = (uInt)in;
	g->zs.next_out = g->out;
	g->zs.avail_out = LIMIT_PUSH_GZIP_OUT_BYTES;
	rc = deflate(&g->zs, finish ? Z_FINISH : Z_NO_FLUSH);
	if (rc == Z_STREAM_END)
		g->ended = true;
	g->len = LIMIT_PUSH_GZIP_OUT_BYTES - g->zs.avail_out;
	return in - g->zs.avail_in;
}

void
gzbody_end(struct gzbody *g)
{
	if (!g->on)
		return;
	deflateEnd(&g->zs);
	free(g->out);
	g->out = NULL;
	g->on = false;
}
