/*
 * HTTP/1.1 heads as the bench needs them: find the end of a head in an
 * evbuffer, split the first line and the headers it cares about
 * (Content-Length, Transfer-Encoding, Connection, Id, X-Bench-Client,
 * Content-Encoding), and pass a Content-Length body through a CRC.  The
 * bench only talks to the proxy and to itself, so this is deliberately
 * small; the proxy's own parser is http_parser.
 *
 * libevent 2.1 reads a socket at most 4 KiB at a time (EVBUFFER_MAX_READ
 * in buffer.c, whatever bufferevent_set_max_single_read says), with an
 * ioctl(FIONREAD) before each read.  A scraper reading a 100 MB body that
 * way would be slower than the proxy it measures, so bodies are read
 * straight from the socket once the head is in (wire_read_direct).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bench.h"

int
wire_find_head(struct evbuffer *in, size_t *len)
{
	struct evbuffer_ptr p;

	p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos < 0)
		return evbuffer_get_length(in) > WIRE_MAX_HEAD ? -1 : 0;
	if ((size_t)p.pos + 4 > WIRE_MAX_HEAD)
		return -1;
	*len = (size_t)p.pos + 4;
	return 1;
}

static void
wire_copy(char *dst, size_t dstlen, const char *src, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool
wire_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* A header line "Name: value" (no CRLF); 0 or -1. */
static int
wire_header(struct wire_head *h, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *v, *end = line + len;
	size_t nl, vl;
	int64_t n;

	if (colon == NULL || colon == line)
		return -1;
	nl = (size_t)(colon - line);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vl = (size_t)(end - v);
	if (wire_is(line, nl, "Content-Length")) {
		if (vl == 0 || vl > 18)
			return -1;
		for (n = 0; v < end; v++) {
			if (*v < '0' || *v > '9')
				return -1;
			n = n * 10 + (*v - '0');
		}
		h->clen = n;
	} else if (wire_is(line, nl, "Transfer-Encoding"))
		h->chunked = vl >= 7 && strncasecmp(end - 7, "chunked", 7) == 0;
	else if (wire_is(line, nl, "Connection"))
		h->close = vl == 5 && strncasecmp(v, "close", 5) == 0;
	else if (wire_is(line, nl, "Id"))
		wire_copy(h->id, sizeof(h->id), v, vl);
	else if (wire_is(line, nl, "X-Bench-Client"))
		wire_copy(h->client, sizeof(h->client), v, vl);
	else if (wire_is(line, nl, "Content-Encoding"))
		wire_copy(h->encoding, sizeof(h->encoding), v, vl);
	return 0;
}

/* The request line or status line; 0 or -1. */
static int
wire_first_line(struct wire_head *h, const char *p, size_t len,
    bool request)
{
	const char *end = p + len, *sp1, *sp2;

	if ((sp1 = memchr(p, ' ', len)) == NULL)
		return -1;
	if (request) {
		sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
		if (sp2 == NULL || (size_t)(end - sp2 - 1) < 8 ||
		    strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
			return -1;
		wire_copy(h->method, sizeof(h->method), p, (size_t)(sp1 - p));
		wire_copy(h->target, sizeof(h->target), sp1 + 1,
		    (size_t)(sp2 - sp1 - 1));
		return 0;
	}
	if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || end - sp1 < 4 ||
	    sp1[1] < '1' || sp1[1] > '5' || sp1[2] < '0' || sp1[2] > '9' ||
	    sp1[3] < '0' || sp1[3] > '9')
		return -1;
	h->status = (sp1[1] - '0') * 100 + (sp1[2] - '0') * 10 + (sp1[3] - '0');
	return 0;
}

int
wire_parse_head(const char *p, size_t len, bool request, struct wire_head *h)
{
	const char *end = p + len, *eol;
	size_t ll;
	bool first = true;

	memset(h, 0, sizeof(*h));
	h->clen = -1;
	h->head_len = len;
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		ll = (size_t)(eol - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			return first ? -1 : 0;
		if (first) {
			if (wire_first_line(h, p, ll, request) == -1)
				return -1;
			first = false;
		} else if (wire_header(h, p, ll) == -1)
			return -1;
		p = eol + 1;
	}
	return -1;	/* no blank line */
}

int
wire_take_head(struct evbuffer *in, bool request, struct wire_head *h)
{
	size_t len;
	unsigned char *p;
	int r;

	if ((r = wire_find_head(in, &len)) != 1)
		return r;
	if ((p = evbuffer_pullup(in, (ssize_t)len)) == NULL ||
	    wire_parse_head((const char *)p, len, request, h) == -1)
		return -1;
	evbuffer_drain(in, len);
	return 1;
}

void
wire_take_body(struct evbuffer *in, int64_t *left, uint32_t *crc,
    uint64_t *got)
{
	struct evbuffer_iovec v[16];
	size_t take, total = 0;
	int i, n;

	while (*left > 0 && evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, *left, NULL, v, 16);
		if (n <= 0)
			break;
		if (n > 16)
			n = 16;
		for (i = 0, total = 0; i < n && *left > 0; i++) {
			take = v[i].iov_len < (uint64_t)*left ? v[i].iov_len :
			    (size_t)*left;
			if (crc != NULL)
				*crc = payload_crc(*crc, v[i].iov_base, take);
			*left -= (int64_t)take;
			total += take;
		}
		*got += total;
		evbuffer_drain(in, total);
	}
}

int
wire_read_direct(struct bufferevent *bev, int64_t *left,
    void (*sink)(void *, const char *, size_t), void *arg)
{
	static char buf[256 * 1024];
	evutil_socket_t fd = bufferevent_getfd(bev);
	ssize_t n;
	size_t want;

	while (*left > 0) {
		want = (uint64_t)*left < sizeof(buf) ? (size_t)*left :
		    sizeof(buf);
		n = read(fd, buf, want);
		if (n > 0) {
			sink(arg, buf, (size_t)n);
			*left -= n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1 && errno == EINTR)
			continue;
		return -1;	/* EOF or error: the event callback will tell */
	}
	return 0;
}
