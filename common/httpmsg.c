/*
 * Streaming HTTP/1.x parsing over http_parser, and head writers.
 *
 * http_parser hands over the request URL, status text, header names and
 * header values in pieces, each element's pieces back to back.  We copy
 * them into one capped arena (struct buf), NUL-separating elements as the
 * parser moves from one to the next, and remember offsets; when the head is
 * complete the offsets become pointers (the arena no longer grows, so they
 * stay valid until reset).  The body is never stored here.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "httpmsg.h"
#include "pushprox_limits.h"

enum httpmsg_elem {
	ELEM_NONE,
	ELEM_URL,	/* request target, or response reason */
	ELEM_FIELD,
	ELEM_VALUE,
};

struct httpmsg_hdr_off {
	size_t	name;
	size_t	value;
};

/* Offsets while the head grows (the arena moves), pointers once done. */
union httpmsg_slot {
	struct httpmsg_hdr_off	off;
	struct httpmsg_header	hdr;
};

/* Most messages have few headers; more slots are allocated on demand. */
#define HTTPMSG_INLINE_SLOTS	8

struct httpmsg {
	http_parser		 parser;
	enum httpmsg_kind	 kind;
	const struct httpmsg_cbs *cbs;
	void			*arg;
	struct buf		 head;
	size_t			 max_head;	/* wire bytes before the body */
	size_t			 wire;		/* head bytes fed so far */
	enum httpmsg_elem	 elem;
	size_t			 url_off;
	int			 has_url;
	union httpmsg_slot	*slot;		/* inline, or malloc'd */
	size_t			 nslots;
	size_t			 nhdr;
	union httpmsg_slot	 inline_slot[HTTPMSG_INLINE_SLOTS];
	int			 head_done;
	int			 complete;
	int			 started;
	int			 paused;	/* by httpmsg_pause */
	int64_t			 clen;		/* Content-Length, or -1 */
	const char		*err;
};

static int	httpmsg_begin_cb(http_parser *);
static int	httpmsg_url_cb(http_parser *, const char *, size_t);
static int	httpmsg_field_cb(http_parser *, const char *, size_t);
static int	httpmsg_value_cb(http_parser *, const char *, size_t);
static int	httpmsg_headers_cb(http_parser *);
static int	httpmsg_body_cb(http_parser *, const char *, size_t);
static int	httpmsg_complete_cb(http_parser *);

static const http_parser_settings httpmsg_settings = {
	.on_message_begin = httpmsg_begin_cb,
	.on_url = httpmsg_url_cb,
	.on_status = httpmsg_url_cb,
	.on_header_field = httpmsg_field_cb,
	.on_header_value = httpmsg_value_cb,
	.on_headers_complete = httpmsg_headers_cb,
	.on_body = httpmsg_body_cb,
	.on_message_complete = httpmsg_complete_cb,
};

struct httpmsg *
httpmsg_new(enum httpmsg_kind kind, size_t max_header_bytes,
    const struct httpmsg_cbs *cbs, void *arg)
{
	struct httpmsg *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->kind = kind;
	m->cbs = cbs;
	m->arg = arg;
	buf_init(&m->head, max_header_bytes);
	m->max_head = max_header_bytes;
	httpmsg_reset(m);
	return m;
}

void
httpmsg_free(struct httpmsg *m)
{
	if (m == NULL)
		return;
	buf_release(&m->head);
	if (m->slot != m->inline_slot)
		free(m->slot);
	free(m);
}

void
httpmsg_reset(struct httpmsg *m)
{
	http_parser_init(&m->parser,
	    m->kind == HTTPMSG_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
	m->parser.data = m;
	buf_reset(&m->head);
	if (m->slot != m->inline_slot)
		free(m->slot);	/* idle connections keep only the inline slots */
	m->slot = m->inline_slot;
	m->nslots = HTTPMSG_INLINE_SLOTS;
	m->wire = 0;
	m->elem = ELEM_NONE;
	m->url_off = 0;
	m->has_url = 0;
	m->nhdr = 0;
	m->head_done = 0;
	m->complete = 0;
	m->started = 0;
	m->paused = 0;
	m->clen = -1;
	m->err = NULL;
}

static int
httpmsg_fail(struct httpmsg *m, const char *why)
{
	if (m->err == NULL)
		m->err = why;
	return -1;
}

/* Ends the element being collected with a NUL, so it becomes a string. */
static int
httpmsg_terminate(struct httpmsg *m)
{
	if (m->elem == ELEM_NONE)
		return 0;
	if (buf_append(&m->head, "", 1) == -1)
		return httpmsg_fail(m, "message head too large");
	if (m->elem == ELEM_FIELD) {
		/* A field with no value callback has an empty value. */
		m->slot[m->nhdr - 1].off.value = m->head.len;
		if (buf_append(&m->head, "", 1) == -1)
			return httpmsg_fail(m, "message head too large");
	}
	m->elem = ELEM_NONE;
	return 0;
}

static int
httpmsg_grow(struct httpmsg *m)
{
	union httpmsg_slot *n;
	size_t cap = m->nslots * 2 > LIMIT_MAX_HEADERS ? LIMIT_MAX_HEADERS :
	    m->nslots * 2;

	if ((n = calloc(cap, sizeof(*n))) == NULL)
		return -1;
	memcpy(n, m->slot, m->nhdr * sizeof(*n));
	if (m->slot != m->inline_slot)
		free(m->slot);
	m->slot = n;
	m->nslots = cap;
	return 0;
}

static int
httpmsg_collect(struct httpmsg *m, enum httpmsg_elem elem, const char *p,
    size_t n)
{
	if (m->elem != elem) {
		if (httpmsg_terminate(m) == -1)
			return -1;
		switch (elem) {
		case ELEM_URL:
			m->url_off = m->head.len;
			m->has_url = 1;
			break;
		case ELEM_FIELD:
			if (m->nhdr == LIMIT_MAX_HEADERS)
				return httpmsg_fail(m, "too many headers");
			if (m->nhdr == m->nslots && httpmsg_grow(m) == -1)
				return httpmsg_fail(m, "out of memory");
			m->slot[m->nhdr++].off.name = m->head.len;
			break;
		case ELEM_VALUE:
			m->slot[m->nhdr - 1].off.value = m->head.len;
			break;
		case ELEM_NONE:
			break;
		}
		m->elem = elem;
	}
	if (buf_append(&m->head, p, n) == -1)
		return httpmsg_fail(m, "message head too large");
	return 0;
}

static int
httpmsg_begin_cb(http_parser *p)
{
	struct httpmsg *m = p->data;

	m->started = 1;
	return 0;
}

static int
httpmsg_url_cb(http_parser *p, const char *at, size_t n)
{
	return httpmsg_collect(p->data, ELEM_URL, at, n);
}

static int
httpmsg_field_cb(http_parser *p, const char *at, size_t n)
{
	struct httpmsg *m = p->data;

	/* Chunked trailers come through here too: they are dropped. */
	if (m->head_done)
		return 0;
	return httpmsg_collect(m, ELEM_FIELD, at, n);
}

static int
httpmsg_value_cb(http_parser *p, const char *at, size_t n)
{
	struct httpmsg *m = p->data;

	if (m->head_done)
		return 0;	/* a trailer */
	/* A value always follows its field; a stray value is a parse bug. */
	if (m->nhdr == 0)
		return httpmsg_fail(m, "header value without a name");
	return httpmsg_collect(m, ELEM_VALUE, at, n);
}

static int
httpmsg_headers_cb(http_parser *p)
{
	struct httpmsg *m = p->data;
	size_t i;

	if (httpmsg_terminate(m) == -1)
		return -1;
	if (!m->has_url) {
		/* An empty reason phrase is legal; keep a "" for it. */
		m->url_off = m->head.len;
		if (buf_append(&m->head, "", 1) == -1)
			return httpmsg_fail(m, "message head too large");
	}
	for (i = 0; i < m->nhdr; i++) {
		struct httpmsg_hdr_off o = m->slot[i].off;

		m->slot[i].hdr.name = m->head.data + o.name;
		m->slot[i].hdr.value = m->head.data + o.value;
		/*
		 * The lenient parser takes "Name : v"; filters compare exact
		 * names, so such a name could slip past them.  And
		 * http_parser 2.9 reads any name starting with
		 * "Transfer-Encoding" as that header.
		 */
		if (!httpmsg_header_valid(m->slot[i].hdr.name, ""))
			return httpmsg_fail(m, "invalid header name");
		if (strncasecmp(m->slot[i].hdr.name, "Transfer-Encoding", 17) == 0 &&
		    m->slot[i].hdr.name[17] != '\0')
			return httpmsg_fail(m, "ambiguous Transfer-Encoding "
			    "header name");
	}
	m->head_done = 1;
	/* Taken now: the parser counts content_length down as it reads. */
	if ((p->flags & F_CONTENTLENGTH) && p->content_length <= INT64_MAX)
		m->clen = (int64_t)p->content_length;
	if (m->kind == HTTPMSG_REQUEST && p->upgrade)
		return httpmsg_fail(m, "CONNECT and Upgrade are not supported");
	if (m->cbs != NULL && m->cbs->headers_cb != NULL &&
	    m->cbs->headers_cb(m, m->arg) == -1)
		return httpmsg_fail(m, "rejected by handler");
	return 0;
}

static int
httpmsg_body_cb(http_parser *p, const char *at, size_t n)
{
	struct httpmsg *m = p->data;

	if (m->cbs != NULL && m->cbs->body_cb != NULL &&
	    m->cbs->body_cb(m, at, n, m->arg) == -1)
		return httpmsg_fail(m, "body rejected by handler");
	return 0;
}

static int
httpmsg_complete_cb(http_parser *p)
{
	struct httpmsg *m = p->data;

	m->complete = 1;
	/* Leave pipelined bytes to the caller until the next reset. */
	http_parser_pause(p, 1);
	if (m->cbs != NULL && m->cbs->complete_cb != NULL &&
	    m->cbs->complete_cb(m, m->arg) == -1)
		return httpmsg_fail(m, "rejected by handler");
	return 0;
}

/* One run of the parser; returns bytes consumed, or -1. */
static ssize_t
httpmsg_execute(struct httpmsg *m, const char *data, size_t len)
{
	size_t n;
	enum http_errno e;

	n = http_parser_execute(&m->parser, &httpmsg_settings, data, len);
	e = HTTP_PARSER_ERRNO(&m->parser);
	if (e == HPE_PAUSED)
		return (ssize_t)n;
	if (e != HPE_OK) {
		if (m->err == NULL)
			m->err = http_errno_description(e);
		return -1;
	}
	if (m->err != NULL)
		return -1;
	if (m->kind == HTTPMSG_REQUEST && m->parser.upgrade) {
		m->err = "CONNECT and Upgrade are not supported";
		return -1;
	}
	return (ssize_t)n;
}

void
httpmsg_pause(struct httpmsg *m)
{
	m->paused = 1;
	http_parser_pause(&m->parser, 1);
}

ssize_t
httpmsg_feed(struct httpmsg *m, const char *data, size_t len)
{
	size_t room, chunk;
	ssize_t n, total = 0;

	if (m->err != NULL)
		return -1;
	if (m->complete || len == 0)
		return 0;
	if (m->paused) {
		m->paused = 0;
		http_parser_pause(&m->parser, 0);
	}
	if (!m->head_done) {
		/* Count the head as sent, padding and line ends included. */
		room = m->max_head > m->wire ? m->max_head - m->wire : 0;
		chunk = len < room ? len : room;
		if (chunk == 0) {
			m->err = "message head too large";
			return -1;
		}
		if ((n = httpmsg_execute(m, data, chunk)) == -1)
			return -1;
		if (!m->head_done) {
			m->wire += (size_t)n;
			if ((size_t)n == chunk && chunk < len) {
				m->err = "message head too large";
				return -1;
			}
			return n;
		}
		if (m->complete || m->paused || (size_t)n < chunk ||
		    (size_t)n == len)
			return n;
		total = n;
		data += n;
		len -= (size_t)n;
	}
	if ((n = httpmsg_execute(m, data, len)) == -1)
		return -1;
	return total + n;
}

int
httpmsg_feed_eof(struct httpmsg *m)
{
	if (m->err != NULL)
		return -1;
	if (m->complete)
		return 0;
	if (!m->started) {
		m->err = "empty message";
		return -1;
	}
	(void)http_parser_execute(&m->parser, &httpmsg_settings, NULL, 0);
	if (m->complete)
		return 0;
	if (m->err == NULL)
		m->err = m->head_done ? "message body truncated" :
		    "message head truncated";
	return -1;
}

const char *
httpmsg_error(const struct httpmsg *m)
{
	return m->err != NULL ? m->err : "no error";
}

bool
httpmsg_complete(const struct httpmsg *m)
{
	return m->complete;
}

bool
httpmsg_head_done(const struct httpmsg *m)
{
	return m->head_done;
}

const char *
httpmsg_method(const struct httpmsg *m)
{
	return http_method_str((enum http_method)m->parser.method);
}

const char *
httpmsg_target(const struct httpmsg *m)
{
	return m->head_done ? m->head.data + m->url_off : "";
}

int
httpmsg_status(const struct httpmsg *m)
{
	return (int)m->parser.status_code;
}

const char *
httpmsg_reason(const struct httpmsg *m)
{
	return httpmsg_target(m);
}

int
httpmsg_version(const struct httpmsg *m)
{
	return m->parser.http_major * 10 + m->parser.http_minor;
}

bool
httpmsg_keep_alive(const struct httpmsg *m)
{
	return http_should_keep_alive(&m->parser) != 0;
}

bool
httpmsg_chunked(const struct httpmsg *m)
{
	return (m->parser.flags & F_CHUNKED) != 0;
}

int64_t
httpmsg_content_length(const struct httpmsg *m)
{
	return m->clen;
}

size_t
httpmsg_header_count(const struct httpmsg *m)
{
	return m->head_done ? m->nhdr : 0;
}

const struct httpmsg_header *
httpmsg_header_at(const struct httpmsg *m, size_t i)
{
	return i < httpmsg_header_count(m) ? &m->slot[i].hdr : NULL;
}

const char *
httpmsg_header(const struct httpmsg *m, const char *name)
{
	size_t i;

	for (i = 0; i < httpmsg_header_count(m); i++)
		if (strcasecmp(m->slot[i].hdr.name, name) == 0)
			return m->slot[i].hdr.value;
	return NULL;
}

const char *
httpmsg_reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static bool
httpmsg_is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool
httpmsg_header_valid(const char *name, const char *value)
{
	const char *p;

	if (name == NULL || *name == '\0' || value == NULL)
		return false;
	for (p = name; *p != '\0'; p++)
		if (!httpmsg_is_tchar((unsigned char)*p))
			return false;
	return strpbrk(value, "\r\n") == NULL;
}

static int
httpmsg_write_headers(struct buf *out, const struct httpmsg_header *h,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!httpmsg_header_valid(h[i].name, h[i].value))
			return -1;
		if (buf_printf(out, "%s: %s\r\n", h[i].name, h[i].value) == -1)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}

int
httpmsg_write_request_head(struct buf *out, const char *method,
    const char *url, const struct httpmsg_header *h, size_t n)
{
	const char *p;

	for (p = method; *p != '\0'; p++)
		if (!httpmsg_is_tchar((unsigned char)*p))
			return -1;
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -1;
	if (*method == '\0' || *url == '\0')
		return -1;
	if (buf_printf(out, "%s %s HTTP/1.1\r\n", method, url) == -1)
		return -1;
	return httpmsg_write_headers(out, h, n);
}

int
httpmsg_write_response_head(struct buf *out, int status, const char *reason,
    const struct httpmsg_header *h, size_t n)
{
	if (status < 100 || status > 999)
		return -1;
	if (reason == NULL)
		reason = httpmsg_reason_phrase(status);
	if (strpbrk(reason, "\r\n") != NULL)
		return -1;
	if (buf_printf(out, "HTTP/1.1 %d %s\r\n", status, reason) == -1)
		return -1;
	return httpmsg_write_headers(out, h, n);
}
