/*
 * Helpers shared by the two stateful network harnesses (fuzz_proxy_net,
 * fuzz_client_net): an input reader that never fails (missing bytes read
 * as 0, so every input is a valid op sequence), "blobs" (a chunk of input
 * bytes, optionally mapped to letters and optionally repeated, so that a
 * few input bytes make a 10 KB reason phrase or 60 long headers), a
 * growable byte string, loopback sockets, and a checker of the HTTP/1.1
 * responses read off one connection.
 */
#ifndef PUSHPROX_FUZZ_NET_H
#define PUSHPROX_FUZZ_NET_H

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz_util.h"

/* The fuzz input, read front to back; past the end every byte is 0. */
struct fz_in {
	const uint8_t	*p;
	size_t		 left;
};

static inline uint8_t
fz_byte(struct fz_in *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

static inline size_t
fz_take(struct fz_in *in, size_t n, const uint8_t **out)
{
	if (n > in->left)
		n = in->left;
	*out = in->p;
	in->p += n;
	in->left -= n;
	return n;
}

/* A growable byte string; aborts on allocation failure. */
struct fz_str {
	char	*d;
	size_t	 len;
	size_t	 cap;
};

static inline void
fz_str_add(struct fz_str *s, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap < 256 ? 256 : s->cap;

		while (cap < s->len + n + 1)
			cap *= 2;
		if ((s->d = realloc(s->d, cap)) == NULL)
			abort();
		s->cap = cap;
	}
	memcpy(s->d + s->len, p, n);
	s->len += n;
	s->d[s->len] = '\0';
}

static inline void
fz_str_cat(struct fz_str *s, const char *cstr)
{
	fz_str_add(s, cstr, strlen(cstr));
}

static inline void
fz_str_fmt(struct fz_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
fz_str_fmt(struct fz_str *s, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		abort();
	fz_str_add(s, tmp, (size_t)n);
}

static inline void
fz_str_consume(struct fz_str *s, size_t n)
{
	if (n >= s->len) {
		s->len = 0;
		return;
	}
	memmove(s->d, s->d + n, s->len - n);
	s->len -= n;
	s->d[s->len] = '\0';
}

static inline void
fz_str_free(struct fz_str *s)
{
	free(s->d);
	s->d = NULL;
	s->len = s->cap = 0;
}

#define FZ_BLOB_MAX	(64 * 1024)

/*
 * Coverage for sizes.  http_parser is not instrumented, and a bug that
 * needs a 9 KB head has no edge of its own, so the fuzzer would have no
 * reason to keep a larger input than a smaller one.  This loop runs
 * len / 512 times at the place where it is expanded; libFuzzer counts a
 * block's hits in buckets (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+), so
 * each size band (1.5 KiB, 2-4, 4-8, 8-16, 16-64 KiB, ...) is a new
 * feature and the corpus keeps one input per band.  A macro, not a
 * function: each expansion must be its own block.
 */
#define FZ_SIZE_HINT(len) do {						\
	static volatile unsigned fz_size_sink_;				\
	size_t fz_i_;							\
									\
	for (fz_i_ = (len) / 512; fz_i_ > 0; fz_i_--)			\
		fz_size_sink_++;					\
} while (0)

/*
 * A blob: one byte L, then L & 31 bytes of chunk; bit 5 of L maps the
 * chunk to lower-case letters (a token, a reason phrase, a header value);
 * bits 6-7: the chunk once (0), 1 + R copies (1), or copies up to exactly
 * 2^(R/16) bytes (2, 3: 1 byte to 64 KiB, evenly spread on a log scale,
 * so that a mutation of R lands in any size band as easily as another),
 * R being the byte after the chunk.
 */
static inline void
fz_blob(struct fz_in *in, struct fz_str *out)
{
	static const uint16_t frac[16] = {	/* 2^(i/16) * 4096 */
		4096, 4277, 4467, 4664, 4871, 5087, 5312, 5547,
		5793, 6049, 6317, 6597, 6889, 7194, 7512, 7845,
	};
	uint8_t l = fz_byte(in), chunk[31], r;
	const uint8_t *p;
	size_t n, i, total;

	n = fz_take(in, l & 31u, &p);
	memcpy(chunk, p, n);
	if (l & 32u)
		for (i = 0; i < n; i++)
			chunk[i] = (uint8_t)('a' + chunk[i] % 26);
	if (n == 0) {
		if (l >> 6)
			(void)fz_byte(in);
		return;
	}
	switch (l >> 6) {
	case 0:
		total = n;
		break;
	case 1:
		total = n * (1 + (size_t)fz_byte(in));
		break;
	default:
		r = fz_byte(in);
		total = ((size_t)frac[r % 16] << (r / 16)) >> 12;
		break;
	}
	if (total > FZ_BLOB_MAX)
		total = FZ_BLOB_MAX;
	for (i = 0; i + n <= total; i += n)
		fz_str_add(out, chunk, n);
	fz_str_add(out, chunk, total - i);
}

/*
 * Connects to 127.0.0.1:port (non-blocking; waits for the handshake, which
 * on loopback needs no accept); -1 on error.  libFuzzer's SIGALRM may
 * interrupt the wait: EINTR is retried.
 */
static inline int
fz_connect(int port)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, one = 1, err = 0, i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EINTR) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (i = 0; i < 100; i++) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 1000) == 1)
			break;
	}
	if (pfd.revents == 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
	    &len) == -1 || err != 0) {
		close(fd);
		errno = err != 0 ? err : ETIMEDOUT;
		return -1;
	}
	return fd;
}

/* A listening socket on 127.0.0.1:0 (non-blocking); its port in *port. */
static inline int
fz_listen(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		abort();
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		abort();
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Closes fd: 0 a normal close (FIN), 1 a reset (RST), 2 half-close. */
static inline void
fz_close(int fd, int how)
{
	struct linger lg = { 1, 0 };

	if (how == 2) {
		(void)shutdown(fd, SHUT_WR);
		return;
	}
	if (how == 1)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Writes what it can of out; returns -1 once the peer is gone. */
static inline int
fz_flush(int fd, struct fz_str *out)
{
	ssize_t n;

	while (out->len > 0) {
		n = send(fd, out->d, out->len, MSG_NOSIGNAL);
		if (n > 0) {
			fz_str_consume(out, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		out->len = 0;
		return -1;
	}
	return 0;
}

#define FZ_IN_MAX	(4 * 1024 * 1024)

/* Reads what is there; 1 at EOF or error, 0 otherwise. */
static inline int
fz_drain(int fd, struct fz_str *in)
{
	char tmp[16384];
	ssize_t n;

	for (;;) {
		n = recv(fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			if (in->len + (size_t)n <= FZ_IN_MAX)
				fz_str_add(in, tmp, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return 1;
	}
}

/*
 * What a peer expects as the next response on a connection, in order:
 * a response to a request with a body-carrying method, to a HEAD, or to
 * bytes the harness cannot frame (raw): after that one the rest of the
 * stream is not checked.
 */
enum fz_expect {
	FZ_EXPECT_BODY,
	FZ_EXPECT_HEAD,
	FZ_EXPECT_RAW,
};

#define FZ_MAXQ	64

/* Reads responses off a byte stream and checks their framing. */
struct fz_resp_check {
	uint8_t	 q[FZ_MAXQ];
	size_t	 nq;
	size_t	 pos;		/* start of the next response */
	bool	 done;		/* stream no longer checked */
	int	 last_status;
	size_t	 responses;
};

static inline void
fz_expect(struct fz_resp_check *rc, enum fz_expect e)
{
	if (rc->nq < FZ_MAXQ)
		rc->q[rc->nq++] = (uint8_t)e;
}

static inline const char *
fz_memmem(const char *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

/* Header value (the first one) in head[0..len), or NULL; *count set. */
static inline const char *
fz_head_header(const char *head, size_t len, const char *name,
    size_t *count)
{
	const char *line = fz_memmem(head, len, "\r\n"), *end = head + len;
	const char *found = NULL;
	size_t nl = strlen(name);

	*count = 0;
	while (line != NULL && line + 2 < end) {
		line += 2;
		if ((size_t)(end - line) > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			if (found == NULL)
				found = line + nl + 1;
			(*count)++;
		}
		line = fz_memmem(line, (size_t)(end - line), "\r\n");
	}
	return found;
}

/*
 * Chunked body at p[0..len): its total length including the last chunk
 * and trailers, 0 if incomplete; aborts on a framing error.
 */
static inline size_t
fz_chunked_len(const char *p, size_t len)
{
	size_t off = 0, sz;
	const char *eol;
	char *endp;

	for (;;) {
		if ((eol = fz_memmem(p + off, len - off, "\r\n")) == NULL)
			return 0;
		sz = strtoul(p + off, &endp, 16);
		FUZZ_CHECK(endp != p + off);	/* chunk size is hex */
		FUZZ_CHECK(endp == eol || *endp == ';');
		off = (size_t)(eol - p) + 2;
		if (sz == 0)
			break;
		if (len - off < sz + 2)
			return 0;
		off += sz;
		FUZZ_CHECK(p[off] == '\r' && p[off + 1] == '\n');
		off += 2;
	}
	/* Trailers, then an empty line. */
	for (;;) {
		if ((eol = fz_memmem(p + off, len - off, "\r\n")) == NULL)
			return 0;
		if (eol == p + off)
			return off + 2;
		off = (size_t)(eol - p) + 2;
	}
}

/*
 * Checks every complete response in buf from rc->pos on: a status line
 * "HTTP/1.1 [1-5]xx", no Content-Length or Transfer-Encoding on 1xx and
 * 204, never both, never two Content-Lengths, chunked framing intact, and
 * after a response's body the next response starts right away (no bytes a
 * keep-alive peer would read as a forged response).
 */
static inline void
fz_resp_check(struct fz_resp_check *rc, const struct fz_str *buf)
{
	const char *p, *hend, *cl, *te;
	size_t avail, hlen, ncl, nte, blen;
	enum fz_expect e;
	int status;
	static int lax = -1;

	/* FUZZ_NET_LAX=1: crashes, leaks and stuck connections only. */
	if (lax == -1)
		lax = getenv("FUZZ_NET_LAX") != NULL;
	if (lax)
		return;
	while (!rc->done && buf->len > rc->pos) {
		p = buf->d + rc->pos;
		avail = buf->len - rc->pos;
		if (avail < 13)
			return;
		if (memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' ||
		    p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
		    p[11] > '9' || (p[12] != ' ' && p[12] != '\r')) {
			fprintf(stderr, "bad status line at offset %zu after "
			    "%zu responses (last status %d): \"%.40s\"\n",
			    rc->pos, rc->responses, rc->last_status, p);
			FUZZ_CHECK(!"response starts with HTTP/1.1 [1-5]xx");
		}
		status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + p[11] - '0';
		if ((hend = fz_memmem(p, avail, "\r\n\r\n")) == NULL)
			return;
		hlen = (size_t)(hend - p) + 4;
		cl = fz_head_header(p, hlen - 2, "Content-Length", &ncl);
		te = fz_head_header(p, hlen - 2, "Transfer-Encoding", &nte);
		FUZZ_CHECK(ncl <= 1 && nte <= 1);
		FUZZ_CHECK(ncl == 0 || nte == 0);
		if (status < 200 || status == 204)
			FUZZ_CHECK(ncl == 0 && nte == 0);
		rc->last_status = status;
		if (status < 200) {
			/* Interim: the final response follows. */
			rc->pos += hlen;
			continue;
		}
		rc->responses++;
		e = rc->nq > 0 ? (enum fz_expect)rc->q[0] : FZ_EXPECT_RAW;
		/*
		 * The last response: what follows is never read as one (a
		 * server at its cap answers before reading the request, which
		 * may have been a HEAD).
		 */
		if (fz_head_header(p, hlen - 2, "Connection", &nte) != NULL &&
		    fz_memmem(p, hlen, "\r\nConnection: close\r\n") != NULL)
			e = FZ_EXPECT_RAW;
		if (e == FZ_EXPECT_RAW) {
			rc->done = true;
			return;
		}
		if (e == FZ_EXPECT_HEAD || status == 204 || status == 304)
			blen = 0;
		else if (te != NULL) {
			while (*te == ' ')
				te++;
			FUZZ_CHECK(strncasecmp(te, "chunked\r", 8) == 0);
			if ((blen = fz_chunked_len(p + hlen,
			    avail - hlen)) == 0)
				return;
		} else if (cl != NULL) {
			blen = strtoul(cl, NULL, 10);
			if (avail - hlen < blen)
				return;
		} else {
			/* Delimited by the end of the connection. */
			rc->done = true;
			return;
		}
		memmove(rc->q, rc->q + 1, --rc->nq);
		rc->pos += hlen + blen;
	}
}

#endif
