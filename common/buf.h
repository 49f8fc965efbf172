/*
 * A growable byte buffer with a hard cap: appends past the cap fail and
 * leave the buffer unchanged, so every buffer in pushprox is bounded.  The
 * data is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef PUSHPROX_BUF_H
#define PUSHPROX_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_WUR __attribute__((warn_unused_result))

struct buf {
	char	*data;	/* NULL until the first append */
	size_t	 len;
	size_t	 alloc;
	size_t	 max;	/* cap on len */
};

/* Prepares an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Appends n bytes; returns 0, or -1 at the cap or on ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n) BUF_WUR;

/* Appends a NUL-terminated string; same results as buf_append. */
int buf_puts(struct buf *b, const char *s) BUF_WUR;

/* Appends formatted text; same results as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) BUF_WUR
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) BUF_WUR
    __attribute__((format(printf, 2, 0)));

/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);

/* Frees the storage; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);

/* Returns the data (never NULL: "" when empty); borrowed. */
const char *buf_cstr(const struct buf *b);

#endif
