/*
 * Streaming HTTP/1.x parsing over http_parser (the writers are in
 * httpmsg_write.c).
 *
 * http_parser hands over the request URL, status text, header names and
 * header values in pieces, each element's pieces back to back.  We copy
 * them into one capped arena (struct buf), NUL-separating elements as the
 * parser moves from one to the next, and remember offsets; when the head is
 * complete the offsets become pointers (the arena no longer grows, so they
 * stay valid until reset).  The body is never stored here.
 *
 * Strict framing.  http_parser, as Debian builds it, is lenient where
 * leniency means request smuggling; so the checker of framing.c reads
 * every framing byte ahead of it (into m->look), and the parser is given
 * only the bytes the checker took: the message fails on the first refused
 * byte, wherever the input was split.  When the head ends the parser
 * decides the body framing (headers_cb checks that the checker saw the
 * same Transfer-Encoding, Content-Length and version, and tells it), and
 * the checker follows it; after every run both must agree on where the
 * head and the message end (httpmsg_frame_agree).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "framing.h"
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
	struct framing		 frame;		/* checked, up to the parser */
	struct framing		 look;		/* checked ahead of it */
};

/* The checker and http_parser read a message differently: never seen. */
#define HTTPMSG_DISAGREE	"framing checker and parser disagree"

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
		free(m->slot);	/* idle connections keep the inline ones */
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
	framing_init(&m->frame, m->kind == HTTPMSG_REQUEST, m->max_head);
	m->look = m->frame;
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
				return httpmsg_fail(m, HTTPMSG_ERR_NOMEM);
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
		if (strncasecmp(m->slot[i].hdr.name, "Transfer-Encoding",
		    17) == 0 && m->slot[i].hdr.name[17] != '\0')
			return httpmsg_fail(m, "ambiguous Transfer-Encoding "
			    "header name");
	}
	/*
	 * The checker read this head ahead of the parser: both must agree
	 * on the framing, else one of them is wrong and the message is not
	 * relayed.
	 */
	if (!framing_at_body(&m->look) ||
	    ((p->flags & F_CHUNKED) != 0) != framing_te(&m->look) ||
	    ((p->flags & F_CONTENTLENGTH) != 0) != framing_cl(&m->look) ||
	    httpmsg_version(m) != framing_version(&m->look))
		return httpmsg_fail(m, HTTPMSG_DISAGREE);
	/* Both copies: the committed one may be scanned up to here again. */
	framing_set_body(&m->look, (p->flags & F_CHUNKED) != 0);
	framing_set_body(&m->frame, (p->flags & F_CHUNKED) != 0);
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

/* After a run of the parser: do the checker and the parser agree? */
static int
httpmsg_frame_agree(struct httpmsg *m)
{
	const struct framing *f = &m->frame;
	bool in_head = framing_in_head(f);

	if ((m->head_done && in_head) || (!m->head_done && !in_head) ||
	    (m->complete && framing_chunked(f) && !framing_done(f)) ||
	    (framing_done(f) && !m->complete)) {
		m->err = HTTPMSG_DISAGREE;
		return -1;
	}
	return 0;
}

/*
 * The checker reads ahead over what is there (into m->look), the parser
 * is given only what the checker took; if the parser stopped short (a
 * pause, the end of the message) the checker's committed state is
 * brought to the same byte.  Only then does a refused byte fail the
 * message, so the error is the same however the input is split.
 */
ssize_t
httpmsg_feed(struct httpmsg *m, const char *data, size_t len)
{
	const char *why, *ignored;
	size_t room, limit, k;
	ssize_t n, total = 0;

	if (m->err != NULL)
		return -1;
	if (m->complete || len == 0)
		return 0;
	if (m->paused) {
		m->paused = 0;
		http_parser_pause(&m->parser, 0);
	}
	while (len > 0) {
		limit = len;
		if (!m->head_done) {
			/* Count the head as sent, padding and line ends. */
			room = m->max_head > m->wire ?
			    m->max_head - m->wire : 0;
			if (room == 0) {
				m->err = "message head too large";
				return -1;
			}
			if (limit > room)
				limit = room;
		}
		m->look = m->frame;
		k = framing_scan(&m->look, data, limit, &why);
		n = 0;
		if (k > 0 && (n = httpmsg_execute(m, data, k)) == -1)
			return -1;
		if ((size_t)n == k)
			m->frame = m->look;
		else
			(void)framing_scan(&m->frame, data, (size_t)n,
			    &ignored);
		if (!m->head_done)
			m->wire += (size_t)n;
		if (httpmsg_frame_agree(m) == -1)
			return -1;
		total += n;
		data += n;
		len -= (size_t)n;
		if (m->complete || m->paused || (size_t)n < k)
			return total;
		if (why != NULL) {
			m->err = why;
			return -1;
		}
		if (k == 0) {
			m->err = HTTPMSG_DISAGREE;
			return -1;
		}
	}
	return total;
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
