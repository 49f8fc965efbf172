/*
 * Streaming HTTP/1.x parsing over http_parser, and head writers.
 *
 * http_parser hands over the request URL, status text, header names and
 * header values in pieces, each element's pieces back to back.  We copy
 * them into one capped arena (struct buf), NUL-separating elements as the
 * parser moves from one to the next, and remember offsets; when the head is
 * complete the offsets become pointers (the arena no longer grows, so they
 * stay valid until reset).  The body is never stored here.
 *
 * Strict framing.  Debian builds http_parser 2.9.4 with
 * HTTP_PARSER_STRICT=0: it takes a bare LF for CRLF, any two bytes for
 * the CRLF after chunk data ("5\r\nhelloXX3\r\nabc..." reads as
 * "helloabc"), anything after a chunk size, obs-fold, HTTP/9.9, two
 * Transfer-Encoding lines.  A front end that reads such bytes otherwise
 * (nginx, HAProxy, a load balancer) disagrees with us on where a message
 * ends: request smuggling.  So a checker (httpmsg_frame_*) reads every
 * framing byte ahead of the parser: the start line (exactly HTTP/1.0 or
 * HTTP/1.1; for responses also HTTP/0.0, which Go's PushProx client
 * pushes for errors), field lines (token names, no control bytes but
 * HTAB in values, no obs-fold, CRLF only), one Transfer-Encoding that is
 * exactly "chunked" in HTTP/1.1 and never with a Content-Length, at most
 * one Content-Length of 1-18 digits, chunk-size lines (1*HEXDIG, then
 * ";"-extensions), the CRLF after each chunk's data and the trailer
 * section (field lines again, no framing fields).  The parser is given
 * only the bytes the checker took, so the message fails on the first
 * refused byte, wherever the input was split; the checker skips body and
 * chunk data in bulk, so only heads and chunk framing cost a byte loop.
 * When the head ends the parser decides the body framing (headers_cb
 * checks that the checker saw the same Transfer-Encoding, Content-Length
 * and version), and the checker follows it; after every run both must
 * agree on where the head and the message end (httpmsg_frame_agree).
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

enum httpmsg_fstate {
	FS_START,	/* before the start line; CRLF pairs are skipped */
	FS_START_LF,	/* the CR of such an empty line */
	FS_RLINE,	/* request line or status line */
	FS_LINE_LF,	/* the CR ending a start or field line */
	FS_FIELD,	/* start of a field line, or the blank line */
	FS_NAME,	/* field name */
	FS_VALUE,	/* field value */
	FS_END_LF,	/* the CR of the blank line */
	FS_BODY_WAIT,	/* head done; waits for the parser's framing */
	FS_OPAQUE,	/* none, Content-Length or EOF: not scanned */
	FS_CHUNK_SIZE,	/* first byte of a chunk-size line */
	FS_CHUNK_HEX,	/* more hex digits */
	FS_CHUNK_BWS,	/* whitespace after the size, before ';' */
	FS_CHUNK_EXT,	/* chunk extensions, up to CR */
	FS_CHUNK_LF,	/* the CR ending the chunk-size line */
	FS_CHUNK_DATA,	/* data bytes, skipped in bulk */
	FS_DATA_CR,	/* the CRLF after the data */
	FS_DATA_LF,
	FS_DONE,	/* message framing complete */
};

enum httpmsg_ffield {
	FF_OTHER,
	FF_TE,
	FF_CL,
};

/* The strict framing checker's state (see httpmsg_frame_scan). */
struct httpmsg_frame {
	enum httpmsg_fstate	 st;
	int			 part;		/* method, target, version */
	size_t			 pos;		/* bytes into part or value */
	int			 version;	/* 10 for HTTP/1.0 */
	size_t			 nlen;		/* name, chunk-size line */
	int			 te_prefix;	/* name starts Transfer-... */
	int			 cl_prefix;	/* name is a Content-Length */
	enum httpmsg_ffield	 field;
	int			 vstate;	/* OWS, word, OWS */
	int			 te;		/* TE: chunked seen */
	int			 cl;		/* Content-Length seen */
	int			 trailer;	/* in the trailer section */
	size_t			 tbytes;	/* trailer section bytes */
	uint64_t		 size;		/* chunk data bytes left */
};

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
	struct httpmsg_frame	 frame;		/* checked, up to the parser */
	struct httpmsg_frame	 look;		/* checked ahead of it */
	enum httpmsg_fstate	 body_mode;	/* OPAQUE or CHUNK_SIZE */
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

/*
 * The strict framing checker.
 *
 * It reads the same bytes as http_parser, ahead of it, one state machine
 * over the head, the chunk framing and the trailer section; chunk data
 * and non-chunked bodies are skipped in bulk.  httpmsg_feed lets the
 * parser see only the bytes the checker accepted, so a message either
 * passes both or fails at the first offending byte, whatever the split.
 */
static const char httpmsg_te_name[] = "transfer-encoding";
static const char httpmsg_cl_name[] = "content-length";
static const char httpmsg_chunked_word[] = "chunked";

/*
 * RFC 9110 token characters, plus field-value and start-line byte
 * classes: a table, so a head costs one load per byte.
 */
#define FC_TCHAR	0x01	/* tchar */
#define FC_VCHAR	0x02	/* VCHAR or obs-text */
#define FC_HEX		0x04

static const uint8_t httpmsg_fclass[256] = {
	/* 00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 20 */ 0, 3, 2, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, 2,
	/* 30 */ 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2,
	/* 40 */ 2, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	/* 50 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 3,
	/* 60 */ 3, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	/* 70 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,
	/* 80 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	/* 90 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	/* a0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	/* b0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	/* c0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	/* d0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	/* e0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	/* f0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static unsigned
httpmsg_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	return (unsigned)((c | 0x20) - 'a' + 10);
}

/* One error text per rule, with the section it was found in. */
#define FERR(f, in_head, in_trailer) ((f)->trailer ? (in_trailer) : (in_head))

/* A byte that may only be CR or LF, or a field byte, went wrong. */
static const char *
httpmsg_frame_line_err(const struct httpmsg_frame *f, unsigned char c)
{
	if (c == '\0')
		return FERR(f, "NUL byte in message head",
		    "NUL byte in chunked trailer");
	if (c == '\n')
		return FERR(f, "bare LF in message head",
		    "bare LF in chunked trailer");
	return NULL;
}

/* The start line, request form: method SP target SP HTTP/1.x. */
static const char *
httpmsg_frame_reqline(struct httpmsg_frame *f, unsigned char c)
{
	static const char ver[] = "HTTP/1.";

	if (c == '\r') {
		if (f->part == 2 && f->pos == sizeof(ver)) {
			f->st = FS_LINE_LF;
			return NULL;
		}
		return f->part == 2 ? "invalid or unsupported HTTP version" :
		    "invalid request line";
	}
	switch (f->part) {
	case 0:		/* method */
		if (c == ' ' && f->pos > 0) {
			f->part = 1;
			f->pos = 0;
			return NULL;
		}
		if (!(httpmsg_fclass[c] & FC_TCHAR))
			return "invalid request method";
		break;
	case 1:		/* request-target: visible ASCII only */
		if (c == ' ' && f->pos > 0) {
			f->part = 2;
			f->pos = 0;
			return NULL;
		}
		if (c < 0x21 || c > 0x7e)
			return "invalid character in request target";
		break;
	default:	/* HTTP-version, exactly HTTP/1.0 or HTTP/1.1 */
		if (f->pos < sizeof(ver) - 1) {
			if (c != (unsigned char)ver[f->pos])
				return "invalid or unsupported HTTP version";
		} else if (f->pos == sizeof(ver) - 1 && (c == '0' || c == '1'))
			f->version = 10 + (c - '0');
		else
			return "invalid or unsupported HTTP version";
		break;
	}
	f->pos++;
	return NULL;
}

/*
 * The start line, response form: HTTP/x.y SP 3DIGIT [SP reason].
 * HTTP/0.0 is taken: Go's PushProx client pushes its errors that way.
 */
static const char *
httpmsg_frame_statusline(struct httpmsg_frame *f, unsigned char c)
{
	static const char ver[] = "HTTP/";

	if (f->pos < sizeof(ver) - 1) {
		if (c != (unsigned char)ver[f->pos])
			return "invalid status line";
	} else if (f->pos == 5) {
		if (c != '0' && c != '1')
			return "invalid or unsupported HTTP version";
		f->version = (c - '0') * 10;
	} else if (f->pos == 6) {
		if (c != '.')
			return "invalid or unsupported HTTP version";
	} else if (f->pos == 7) {
		if (c < '0' || c > '9' || (f->version == 0 && c != '0') ||
		    (f->version == 10 && c > '1'))
			return "invalid or unsupported HTTP version";
		f->version += c - '0';
	} else if (f->pos == 8) {
		if (c != ' ')
			return "invalid status line";
	} else if (f->pos <= 11) {
		if (c < '0' || c > '9')
			return "invalid status code";
	} else if (c == '\r') {
		f->st = FS_LINE_LF;
		return NULL;
	} else if (f->pos == 12) {
		if (c != ' ')
			return "invalid status line";
	} else if (c != '\t' && c != ' ' && !(httpmsg_fclass[c] & FC_VCHAR))
		return "control character in reason phrase";
	f->pos++;
	return NULL;
}

/* A field line's name ended with ':'; what framing field is it? */
static const char *
httpmsg_frame_name_end(struct httpmsg_frame *f)
{
	f->field = FF_OTHER;
	f->pos = 0;	/* value bytes matched / digits seen */
	f->vstate = 0;
	if (f->te_prefix && f->nlen > sizeof(httpmsg_te_name) - 1)
		return FERR(f, "ambiguous Transfer-Encoding header name",
		    "ambiguous Transfer-Encoding trailer name");
	if (f->te_prefix && f->nlen == sizeof(httpmsg_te_name) - 1)
		f->field = FF_TE;
	else if (f->cl_prefix && f->nlen == sizeof(httpmsg_cl_name) - 1)
		f->field = FF_CL;
	if (f->field == FF_OTHER)
		return NULL;
	if (f->trailer)
		return "Transfer-Encoding or Content-Length in chunked trailer";
	if (f->field == FF_TE) {
		if (f->te)
			return "duplicate Transfer-Encoding";
		if (f->cl)
			return "Transfer-Encoding with Content-Length";
		if (f->version != 11)
			return "Transfer-Encoding in an HTTP/1.0 message";
		f->te = 1;
	} else {
		if (f->cl)
			return "duplicate Content-Length";
		if (f->te)
			return "Transfer-Encoding with Content-Length";
		f->cl = 1;
	}
	return NULL;
}

/*
 * One byte of a Transfer-Encoding or Content-Length value (not CR):
 * OWS "chunked" *SP, or OWS 1*18DIGIT *SP.  vstate 0 leading OWS, 1 the
 * word or digits, 2 trailing SP.  A trailing HTAB is refused: http_parser
 * 2.9.4 reads "chunked<HTAB>" as another coding, and a Content-Length
 * followed by one as invalid.
 */
static const char *
httpmsg_frame_value(struct httpmsg_frame *f, unsigned char c)
{
	const char *bad = f->field == FF_TE ?
	    "Transfer-Encoding other than chunked" : "invalid Content-Length";

	if (c == ' ' || (c == '\t' && f->vstate == 0)) {
		if (f->vstate == 1) {
			if (f->field == FF_TE &&
			    f->pos != sizeof(httpmsg_chunked_word) - 1)
				return bad;
			f->vstate = 2;
		}
		return NULL;
	}
	if (f->vstate == 2)
		return bad;
	f->vstate = 1;
	if (f->field == FF_TE) {
		if (f->pos >= sizeof(httpmsg_chunked_word) - 1 ||
		    (c | 0x20) != (unsigned char)httpmsg_chunked_word[f->pos])
			return bad;
	} else {
		if (c < '0' || c > '9')
			return bad;
		if (f->pos >= 18)
			return "Content-Length too large";
	}
	f->pos++;
	return NULL;
}

/* The CR ending a Transfer-Encoding or Content-Length value. */
static const char *
httpmsg_frame_value_end(struct httpmsg_frame *f)
{
	if (f->field == FF_TE && f->pos != sizeof(httpmsg_chunked_word) - 1)
		return "Transfer-Encoding other than chunked";
	if (f->field == FF_CL && f->pos == 0)
		return "invalid Content-Length";
	return NULL;
}

/* A chunk-size line (leading zeros, extensions) is capped like a head. */
static const char *
httpmsg_frame_chunkline(struct httpmsg *m, struct httpmsg_frame *f)
{
	if (++f->nlen > m->max_head)
		return "chunk size line too long";
	return NULL;
}

/* One byte of the head or trailer section; NULL or why it is refused. */
static const char *
httpmsg_frame_byte(struct httpmsg *m, struct httpmsg_frame *f,
    unsigned char c)
{
	const char *e;
	uint8_t cls = httpmsg_fclass[c];

	if (f->trailer && ++f->tbytes > m->max_head)
		return "chunked trailer too large";
	switch (f->st) {
	case FS_START:
		if (c == '\r') {
			f->st = FS_START_LF;
			return NULL;
		}
		if ((e = httpmsg_frame_line_err(f, c)) != NULL)
			return e;
		f->st = FS_RLINE;
		f->part = 0;
		f->pos = 0;
		/* FALLTHROUGH */
	case FS_RLINE:
		if ((e = httpmsg_frame_line_err(f, c)) != NULL)
			return e;
		return m->kind == HTTPMSG_REQUEST ?
		    httpmsg_frame_reqline(f, c) :
		    httpmsg_frame_statusline(f, c);
	case FS_START_LF:
		if (c != '\n')
			return "bare CR in message head";
		f->st = FS_START;
		return NULL;
	case FS_LINE_LF:
		if (c != '\n')
			return FERR(f, "bare CR in message head",
			    "bare CR in chunked trailer");
		f->st = FS_FIELD;
		return NULL;
	case FS_FIELD:
		if (c == '\r') {
			f->st = FS_END_LF;
			return NULL;
		}
		if (c == ' ' || c == '\t')
			return FERR(f, "obs-fold (folded header line)",
			    "obs-fold (folded trailer line)");
		if ((e = httpmsg_frame_line_err(f, c)) != NULL)
			return e;
		if (!(cls & FC_TCHAR))
			return FERR(f, "invalid header name",
			    "invalid trailer name");
		f->st = FS_NAME;
		f->nlen = 0;
		f->te_prefix = 1;
		f->cl_prefix = 1;
		/* FALLTHROUGH */
	case FS_NAME:
		if (c == ':') {
			f->st = FS_VALUE;
			return httpmsg_frame_name_end(f);
		}
		if ((e = httpmsg_frame_line_err(f, c)) != NULL)
			return e;
		if (!(cls & FC_TCHAR))
			return FERR(f, "invalid header name",
			    "invalid trailer name");
		if (f->nlen < sizeof(httpmsg_te_name) - 1 &&
		    (c | 0x20) != (unsigned char)httpmsg_te_name[f->nlen])
			f->te_prefix = 0;
		if (f->nlen >= sizeof(httpmsg_cl_name) - 1 ||
		    (c | 0x20) != (unsigned char)httpmsg_cl_name[f->nlen])
			f->cl_prefix = 0;
		if (f->nlen < SIZE_MAX)
			f->nlen++;
		return NULL;
	case FS_VALUE:
		if (c == '\r') {
			f->st = FS_LINE_LF;
			return f->field != FF_OTHER ?
			    httpmsg_frame_value_end(f) : NULL;
		}
		if ((e = httpmsg_frame_line_err(f, c)) != NULL)
			return e;
		if (c != '\t' && c != ' ' && !(cls & FC_VCHAR))
			return FERR(f, "control character in header value",
			    "control character in trailer value");
		return f->field != FF_OTHER ? httpmsg_frame_value(f, c) : NULL;
	case FS_END_LF:
		if (c != '\n')
			return FERR(f, "bare CR in message head",
			    "bare CR in chunked trailer");
		f->st = f->trailer ? FS_DONE : FS_BODY_WAIT;
		return NULL;
	case FS_CHUNK_SIZE:
		if (!(cls & FC_HEX))
			return "invalid chunk size line";
		f->size = httpmsg_hexval(c);
		f->nlen = 1;
		f->st = FS_CHUNK_HEX;
		return NULL;
	case FS_CHUNK_HEX:
		if (cls & FC_HEX) {
			/* The same bound as http_parser's. */
			if (f->size > (UINT64_MAX - 16) / 16)
				return "chunk size too large";
			f->size = f->size * 16 + httpmsg_hexval(c);
			return httpmsg_frame_chunkline(m, f);
		}
		if (c == '\r') {
			f->st = FS_CHUNK_LF;
			return NULL;
		}
		if (c == ';') {
			f->st = FS_CHUNK_EXT;
			return NULL;
		}
		if (c == ' ' || c == '\t') {
			f->st = FS_CHUNK_BWS;
			return NULL;
		}
		return "invalid chunk size line";
	case FS_CHUNK_BWS:
		if (c == ';')
			f->st = FS_CHUNK_EXT;
		else if (c != ' ' && c != '\t')
			return "invalid chunk size line";
		return httpmsg_frame_chunkline(m, f);
	case FS_CHUNK_EXT:
		if (c == '\r') {
			f->st = FS_CHUNK_LF;
			return NULL;
		}
		if (c != '\t' && c != ' ' && !(cls & FC_VCHAR))
			return "invalid chunk extension";
		return httpmsg_frame_chunkline(m, f);
	case FS_CHUNK_LF:
		if (c != '\n')
			return "invalid chunk size line";
		if (f->size == 0) {
			f->trailer = 1;
			f->tbytes = 0;
			f->st = FS_FIELD;
		} else
			f->st = FS_CHUNK_DATA;
		return NULL;
	case FS_DATA_CR:
		if (c != '\r')
			return "missing CRLF after chunk data";
		f->st = FS_DATA_LF;
		return NULL;
	case FS_DATA_LF:
		if (c != '\n')
			return "missing CRLF after chunk data";
		f->st = FS_CHUNK_SIZE;
		return NULL;
	case FS_BODY_WAIT:
	case FS_OPAQUE:
	case FS_CHUNK_DATA:
	case FS_DONE:
		break;
	}
	return "framing checker state";	/* not reached */
}

/*
 * Scans data[0..len) from state f.  Returns how many bytes are good;
 * *why says why the next byte is not (NULL if the scan stopped for
 * another reason: all read, the head or the message ended).
 */
static size_t
httpmsg_frame_scan(struct httpmsg *m, struct httpmsg_frame *f,
    const char *data, size_t len, const char **why)
{
	size_t i = 0, n;

	*why = NULL;
	while (i < len) {
		switch (f->st) {
		case FS_BODY_WAIT:
			/* The parser decides; headers_cb records it. */
			if (m->body_mode == FS_BODY_WAIT)
				return i;
			f->st = m->body_mode;
			continue;
		case FS_OPAQUE:
			return len;
		case FS_DONE:
			return i;
		case FS_VALUE:
			/* Most head bytes: an ordinary value, in a tight loop. */
			if (f->field == FF_OTHER && !f->trailer) {
				while (i < len && ((httpmsg_fclass[(unsigned char)
				    data[i]] & FC_VCHAR) || data[i] == ' ' ||
				    data[i] == '\t'))
					i++;
				if (i == len)
					return i;
			}
			break;
		case FS_CHUNK_DATA:
			n = len - i;
			if ((uint64_t)n > f->size)
				n = (size_t)f->size;
			f->size -= n;
			i += n;
			if (f->size == 0)
				f->st = FS_DATA_CR;
			continue;
		default:
			break;
		}
		if ((*why = httpmsg_frame_byte(m, f,
		    (unsigned char)data[i])) != NULL)
			return i;
		i++;
		/* Stop where the head ends, before any body byte. */
		if (f->st == FS_BODY_WAIT)
			return i;
	}
	return i;
}

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
	memset(&m->frame, 0, sizeof(m->frame));
	m->frame.st = FS_START;
	m->look = m->frame;
	m->body_mode = FS_BODY_WAIT;
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
		if (strncasecmp(m->slot[i].hdr.name, "Transfer-Encoding", 17) == 0 &&
		    m->slot[i].hdr.name[17] != '\0')
			return httpmsg_fail(m, "ambiguous Transfer-Encoding "
			    "header name");
	}
	/*
	 * The checker read this head ahead of the parser: both must agree
	 * on the framing, else one of them is wrong and the message is not
	 * relayed.
	 */
	if (m->look.st != FS_BODY_WAIT ||
	    ((p->flags & F_CHUNKED) != 0) != (m->look.te != 0) ||
	    ((p->flags & F_CONTENTLENGTH) != 0) != (m->look.cl != 0) ||
	    httpmsg_version(m) != m->look.version)
		return httpmsg_fail(m, HTTPMSG_DISAGREE);
	m->body_mode = (p->flags & F_CHUNKED) ? FS_CHUNK_SIZE : FS_OPAQUE;
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
	const struct httpmsg_frame *f = &m->frame;
	int in_head = !f->trailer && f->st < FS_BODY_WAIT;

	if ((m->head_done && in_head) || (!m->head_done && !in_head) ||
	    (m->complete && m->body_mode == FS_CHUNK_SIZE &&
	    f->st != FS_DONE) ||
	    (f->st == FS_DONE && !m->complete)) {
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
		k = httpmsg_frame_scan(m, &m->look, data, limit, &why);
		n = 0;
		if (k > 0 && (n = httpmsg_execute(m, data, k)) == -1)
			return -1;
		if ((size_t)n == k)
			m->frame = m->look;
		else
			(void)httpmsg_frame_scan(m, &m->frame, data, (size_t)n,
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
