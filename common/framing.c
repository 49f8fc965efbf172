/*
 * The strict framing checker (see framing.h for why it exists).
 *
 * What it takes: the start line (exactly HTTP/1.0 or HTTP/1.1; for
 * responses also HTTP/0.0, which Go's PushProx client pushes for
 * errors), field lines (token names, no control bytes but HTAB in values,
 * no obs-fold, CRLF only), one Transfer-Encoding that is exactly
 * "chunked" in HTTP/1.1 and never with a Content-Length, at most one
 * Content-Length of 1-18 digits, chunk-size lines (1*HEXDIG, then
 * ";"-extensions), the CRLF after each chunk's data and the trailer
 * section (field lines again, no framing fields).  Everything else is
 * refused with a message naming the rule and where (head or trailer).
 *
 * Cost: one table load per head byte; ordinary field values run in a
 * tight loop, and body and chunk data are skipped without a byte loop.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "framing.h"

static const char framing_te_name[] = "transfer-encoding";
static const char framing_cl_name[] = "content-length";
static const char framing_chunked_word[] = "chunked";

/*
 * RFC 9110 token characters, plus field-value and start-line byte
 * classes: a table, so a head costs one load per byte.
 */
#define FC_TCHAR	0x01	/* tchar */
#define FC_VCHAR	0x02	/* VCHAR or obs-text */
#define FC_HEX		0x04

static const uint8_t framing_fclass[256] = {
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
framing_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	return (unsigned)((c | 0x20) - 'a' + 10);
}

/* One error text per rule, with the section it was found in. */
#define FERR(f, in_head, in_trailer) ((f)->trailer ? (in_trailer) : (in_head))

/* A byte that may only be CR or LF, or a field byte, went wrong. */
static const char *
framing_line_err(const struct framing *f, unsigned char c)
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
framing_reqline(struct framing *f, unsigned char c)
{
	static const char ver[] = "HTTP/1.";

	if (c == '\r') {
		if (f->part == 2 && f->pos == sizeof(ver)) {
			f->st = FRAMING_LINE_LF;
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
		if (!(framing_fclass[c] & FC_TCHAR))
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
framing_statusline(struct framing *f, unsigned char c)
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
		f->st = FRAMING_LINE_LF;
		return NULL;
	} else if (f->pos == 12) {
		if (c != ' ')
			return "invalid status line";
	} else if (c != '\t' && c != ' ' && !(framing_fclass[c] & FC_VCHAR))
		return "control character in reason phrase";
	f->pos++;
	return NULL;
}

/* A field line's name ended with ':'; what framing field is it? */
static const char *
framing_name_end(struct framing *f)
{
	f->field = FRAMING_FIELD_OTHER;
	f->pos = 0;	/* value bytes matched / digits seen */
	f->vstate = 0;
	if (f->te_prefix && f->nlen > sizeof(framing_te_name) - 1)
		return FERR(f, "ambiguous Transfer-Encoding header name",
		    "ambiguous Transfer-Encoding trailer name");
	if (f->te_prefix && f->nlen == sizeof(framing_te_name) - 1)
		f->field = FRAMING_FIELD_TE;
	else if (f->cl_prefix && f->nlen == sizeof(framing_cl_name) - 1)
		f->field = FRAMING_FIELD_CL;
	if (f->field == FRAMING_FIELD_OTHER)
		return NULL;
	if (f->trailer)
		return "Transfer-Encoding or Content-Length in chunked trailer";
	if (f->field == FRAMING_FIELD_TE) {
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
framing_value(struct framing *f, unsigned char c)
{
	const char *bad = f->field == FRAMING_FIELD_TE ?
	    "Transfer-Encoding other than chunked" : "invalid Content-Length";

	if (c == ' ' || (c == '\t' && f->vstate == 0)) {
		if (f->vstate == 1) {
			if (f->field == FRAMING_FIELD_TE &&
			    f->pos != sizeof(framing_chunked_word) - 1)
				return bad;
			f->vstate = 2;
		}
		return NULL;
	}
	if (f->vstate == 2)
		return bad;
	f->vstate = 1;
	if (f->field == FRAMING_FIELD_TE) {
		if (f->pos >= sizeof(framing_chunked_word) - 1 ||
		    (c | 0x20) != (unsigned char)framing_chunked_word[f->pos])
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
framing_value_end(struct framing *f)
{
	if (f->field == FRAMING_FIELD_TE &&
	    f->pos != sizeof(framing_chunked_word) - 1)
		return "Transfer-Encoding other than chunked";
	if (f->field == FRAMING_FIELD_CL && f->pos == 0)
		return "invalid Content-Length";
	return NULL;
}

/* A chunk-size line (leading zeros, extensions) is capped like a head. */
static const char *
framing_chunkline(struct framing *f)
{
	if (++f->nlen > f->max_line)
		return "chunk size line too long";
	return NULL;
}

/* One byte of the head or trailer section; NULL or why it is refused. */
static const char *
framing_byte(struct framing *f, unsigned char c)
{
	const char *e;
	uint8_t cls = framing_fclass[c];

	if (f->trailer && ++f->tbytes > f->max_line)
		return "chunked trailer too large";
	switch (f->st) {
	case FRAMING_START:
		if (c == '\r') {
			f->st = FRAMING_START_LF;
			return NULL;
		}
		if ((e = framing_line_err(f, c)) != NULL)
			return e;
		f->st = FRAMING_RLINE;
		f->part = 0;
		f->pos = 0;
		/* FALLTHROUGH */
	case FRAMING_RLINE:
		if ((e = framing_line_err(f, c)) != NULL)
			return e;
		return f->request ?
		    framing_reqline(f, c) :
		    framing_statusline(f, c);
	case FRAMING_START_LF:
		if (c != '\n')
			return "bare CR in message head";
		f->st = FRAMING_START;
		return NULL;
	case FRAMING_LINE_LF:
		if (c != '\n')
			return FERR(f, "bare CR in message head",
			    "bare CR in chunked trailer");
		f->st = FRAMING_FIELD;
		return NULL;
	case FRAMING_FIELD:
		if (c == '\r') {
			f->st = FRAMING_END_LF;
			return NULL;
		}
		if (c == ' ' || c == '\t')
			return FERR(f, "obs-fold (folded header line)",
			    "obs-fold (folded trailer line)");
		if ((e = framing_line_err(f, c)) != NULL)
			return e;
		if (!(cls & FC_TCHAR))
			return FERR(f, "invalid header name",
			    "invalid trailer name");
		f->st = FRAMING_NAME;
		f->nlen = 0;
		f->te_prefix = 1;
		f->cl_prefix = 1;
		/* FALLTHROUGH */
	case FRAMING_NAME:
		if (c == ':') {
			f->st = FRAMING_VALUE;
			return framing_name_end(f);
		}
		if ((e = framing_line_err(f, c)) != NULL)
			return e;
		if (!(cls & FC_TCHAR))
			return FERR(f, "invalid header name",
			    "invalid trailer name");
		if (f->nlen < sizeof(framing_te_name) - 1 &&
		    (c | 0x20) != (unsigned char)framing_te_name[f->nlen])
			f->te_prefix = 0;
		if (f->nlen >= sizeof(framing_cl_name) - 1 ||
		    (c | 0x20) != (unsigned char)framing_cl_name[f->nlen])
			f->cl_prefix = 0;
		if (f->nlen < SIZE_MAX)
			f->nlen++;
		return NULL;
	case FRAMING_VALUE:
		if (c == '\r') {
			f->st = FRAMING_LINE_LF;
			return f->field != FRAMING_FIELD_OTHER ?
			    framing_value_end(f) : NULL;
		}
		if ((e = framing_line_err(f, c)) != NULL)
			return e;
		if (c != '\t' && c != ' ' && !(cls & FC_VCHAR))
			return FERR(f, "control character in header value",
			    "control character in trailer value");
		return f->field != FRAMING_FIELD_OTHER ?
		    framing_value(f, c) : NULL;
	case FRAMING_END_LF:
		if (c != '\n')
			return FERR(f, "bare CR in message head",
			    "bare CR in chunked trailer");
		f->st = f->trailer ? FRAMING_DONE : FRAMING_BODY_WAIT;
		return NULL;
	case FRAMING_CHUNK_SIZE:
		if (!(cls & FC_HEX))
			return "invalid chunk size line";
		f->size = framing_hexval(c);
		f->nlen = 1;
		f->st = FRAMING_CHUNK_HEX;
		return NULL;
	case FRAMING_CHUNK_HEX:
		if (cls & FC_HEX) {
			/* The same bound as http_parser's. */
			if (f->size > (UINT64_MAX - 16) / 16)
				return "chunk size too large";
			f->size = f->size * 16 + framing_hexval(c);
			return framing_chunkline(f);
		}
		if (c == '\r') {
			f->st = FRAMING_CHUNK_LF;
			return NULL;
		}
		if (c == ';') {
			f->st = FRAMING_CHUNK_EXT;
			return NULL;
		}
		if (c == ' ' || c == '\t') {
			f->st = FRAMING_CHUNK_BWS;
			return NULL;
		}
		return "invalid chunk size line";
	case FRAMING_CHUNK_BWS:
		if (c == ';')
			f->st = FRAMING_CHUNK_EXT;
		else if (c != ' ' && c != '\t')
			return "invalid chunk size line";
		return framing_chunkline(f);
	case FRAMING_CHUNK_EXT:
		if (c == '\r') {
			f->st = FRAMING_CHUNK_LF;
			return NULL;
		}
		if (c != '\t' && c != ' ' && !(cls & FC_VCHAR))
			return "invalid chunk extension";
		return framing_chunkline(f);
	case FRAMING_CHUNK_LF:
		if (c != '\n')
			return "invalid chunk size line";
		if (f->size == 0) {
			f->trailer = 1;
			f->tbytes = 0;
			f->st = FRAMING_FIELD;
		} else
			f->st = FRAMING_CHUNK_DATA;
		return NULL;
	case FRAMING_DATA_CR:
		if (c != '\r')
			return "missing CRLF after chunk data";
		f->st = FRAMING_DATA_LF;
		return NULL;
	case FRAMING_DATA_LF:
		if (c != '\n')
			return "missing CRLF after chunk data";
		f->st = FRAMING_CHUNK_SIZE;
		return NULL;
	case FRAMING_BODY_WAIT:
	case FRAMING_OPAQUE:
	case FRAMING_CHUNK_DATA:
	case FRAMING_DONE:
		break;
	}
	return "framing checker state";	/* not reached */
}

/*
 * Scans data[0..len) from state f.  Returns how many bytes are good;
 * *why says why the next byte is not (NULL if the scan stopped for
 * another reason: all read, the head or the message ended).
 */
size_t
framing_scan(struct framing *f, const char *data, size_t len,
    const char **why)
{
	const unsigned char *u = (const unsigned char *)data;
	size_t i = 0, n;

	*why = NULL;
	while (i < len) {
		switch (f->st) {
		case FRAMING_BODY_WAIT:
			/* Until framing_set_body, the scan stops here. */
			if (f->body == FRAMING_BODY_WAIT)
				return i;
			f->st = f->body;
			continue;
		case FRAMING_OPAQUE:
			return len;
		case FRAMING_DONE:
			return i;
		case FRAMING_VALUE:
			/* Most head bytes: an ordinary value, in a loop. */
			if (f->field == FRAMING_FIELD_OTHER && !f->trailer) {
				while (i < len && ((framing_fclass[u[i]] &
				    FC_VCHAR) || u[i] == ' ' || u[i] == '\t'))
					i++;
				if (i == len)
					return i;
			}
			break;
		case FRAMING_CHUNK_DATA:
			n = len - i;
			if ((uint64_t)n > f->size)
				n = (size_t)f->size;
			f->size -= n;
			i += n;
			if (f->size == 0)
				f->st = FRAMING_DATA_CR;
			continue;
		default:
			break;
		}
		if ((*why = framing_byte(f, u[i])) != NULL)
			return i;
		i++;
		/* Stop where the head ends, before any body byte. */
		if (f->st == FRAMING_BODY_WAIT)
			return i;
	}
	return i;
}

void
framing_init(struct framing *f, bool request, size_t max_line)
{
	memset(f, 0, sizeof(*f));
	f->request = request;
	f->max_line = max_line;
	f->st = FRAMING_START;
	f->body = FRAMING_BODY_WAIT;
}
