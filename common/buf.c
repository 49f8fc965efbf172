/*
 * Capped growable buffer.  Storage grows geometrically (doubling) but is
 * never allocated beyond max + 1 bytes, so a buffer fed by a peer can never
 * exceed its cap.  Every failing operation leaves len and the contents as
 * they were, which lets callers treat -1 as "reject this input" without
 * having to roll anything back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MIN_ALLOC	64

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

/* Makes room for n more bytes plus the NUL; -1 at the cap or on ENOMEM. */
static int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, nalloc;
	char	*p;

	if (n > b->max - b->len)
		return -1;
	need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	nalloc = b->alloc > 0 ? b->alloc : BUF_MIN_ALLOC;
	while (nalloc < need) {
		if (nalloc > SIZE_MAX / 2) {
			nalloc = need;
			break;
		}
		nalloc *= 2;
	}
	/* Written so as not to overflow when max is SIZE_MAX. */
	if (nalloc - 1 > b->max)
		nalloc = b->max + 1;
	p = realloc(b->data, nalloc);
	if (p == NULL)
		return -1;
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->alloc = nalloc;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	size_t	 room;
	int	 n;

	room = b->data != NULL ? b->alloc - b->len : 0;
	va_copy(ap2, ap);
	if (room > 0)
		n = vsnprintf(b->data + b->len, room, fmt, ap2);
	else
		n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		goto fail;
	if ((size_t)n < room) {
		if ((size_t)n > b->max - b->len)
			goto fail;
		b->len += (size_t)n;
		return 0;
	}
	/* Did not fit: grow to the exact size and format again. */
	if (buf_reserve(b, (size_t)n) == -1)
		goto fail;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		goto fail;
	b->len += (size_t)n;
	return 0;
fail:
	/* The first pass may have overwritten the terminator. */
	if (b->data != NULL)
		b->data[b->len] = '\0';
	return -1;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}
