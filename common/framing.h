/*
 * Strict HTTP/1.1 framing (RFC 9112): a checker that reads every byte
 * that decides where a message ends, and refuses what a lenient parser
 * would guess at.
 *
 * Debian builds http_parser 2.9.4 with HTTP_PARSER_STRICT=0: it takes a
 * bare LF for CRLF, any two bytes for the CRLF after chunk data, anything
 * after a chunk size, obs-fold, HTTP/9.9, two Transfer-Encoding lines.  A
 * front end that reads such bytes otherwise disagrees with us on where a
 * message ends: request smuggling.  httpmsg.c runs this checker ahead of
 * http_parser and gives the parser only the bytes the checker took.
 *
 * The checker is a byte-driven state machine over the start line, the
 * field lines, the chunk framing and the trailer section; chunk data and
 * other bodies are skipped in bulk.  It stops where the head ends: the
 * caller says how the body is framed (framing_set_body: chunked, or
 * "opaque": a Content-Length, none, or until EOF, not scanned), as the
 * parser decided; the checker's own view (framing_te, framing_cl,
 * framing_version) lets the caller check that both agree.
 *
 * struct framing is plain data, so a caller may copy it to scan ahead and
 * commit or drop the copy (httpmsg does).  Its fields are private: use
 * the functions below.  Errors are static strings naming the rule.
 */
#ifndef PUSHPROX_FRAMING_H
#define PUSHPROX_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum framing_state {
	FRAMING_START,		/* before the start line; CRLFs skipped */
	FRAMING_START_LF,	/* the CR of such an empty line */
	FRAMING_RLINE,		/* request line or status line */
	FRAMING_LINE_LF,	/* the CR ending a start or field line */
	FRAMING_FIELD,		/* start of a field line, or the blank line */
	FRAMING_NAME,		/* field name */
	FRAMING_VALUE,		/* field value */
	FRAMING_END_LF,		/* the CR of the blank line */
	FRAMING_BODY_WAIT,	/* head done; waits for framing_set_body */
	FRAMING_OPAQUE,		/* none, Content-Length or EOF: not scanned */
	FRAMING_CHUNK_SIZE,	/* first byte of a chunk-size line */
	FRAMING_CHUNK_HEX,	/* more hex digits */
	FRAMING_CHUNK_BWS,	/* whitespace after the size, before ';' */
	FRAMING_CHUNK_EXT,	/* chunk extensions, up to CR */
	FRAMING_CHUNK_LF,	/* the CR ending the chunk-size line */
	FRAMING_CHUNK_DATA,	/* data bytes, skipped in bulk */
	FRAMING_DATA_CR,	/* the CRLF after the data */
	FRAMING_DATA_LF,
	FRAMING_DONE,		/* message framing complete */
};

enum framing_field {
	FRAMING_FIELD_OTHER,
	FRAMING_FIELD_TE,	/* Transfer-Encoding */
	FRAMING_FIELD_CL,	/* Content-Length */
};

/* The checker's state; embed it, copy it, read it through functions. */
struct framing {
	enum framing_state	 st;
	int			 part;		/* method, target, version */
	size_t			 pos;		/* bytes into part or value */
	int			 version;	/* 10 for HTTP/1.0 */
	enum framing_state	 body;		/* BODY_WAIT until set */
	size_t			 nlen;		/* name, chunk-size line */
	int			 te_prefix;	/* name starts Transfer-... */
	int			 cl_prefix;	/* name is a Content-Length */
	enum framing_field	 field;
	int			 vstate;	/* OWS, word, OWS */
	int			 te;		/* TE: chunked seen */
	int			 cl;		/* Content-Length seen */
	int			 trailer;	/* in the trailer section */
	bool			 request;	/* else a response */
	size_t			 tbytes;	/* trailer section bytes */
	uint64_t		 size;		/* chunk data bytes left */
	size_t			 max_line;	/* chunk-size line, trailer */
};

/*
 * Ready for a request (request true) or a response.  max_line caps a
 * chunk-size line and the trailer section, in bytes (the head's own cap
 * is the caller's: it counts what it feeds).
 */
void framing_init(struct framing *f, bool request, size_t max_line);

/*
 * Scans data[0..len).  Returns how many bytes are good; *why is NULL if
 * the scan stopped because it read all, the head ended (framing_at_body)
 * or the message ended (framing_done), else why the next byte is
 * refused (a static string).  After a refusal f is spent: framing_init
 * it again.
 */
size_t framing_scan(struct framing *f, const char *data, size_t len,
    const char **why);

/*
 * The accessors below are inline: httpmsg calls them around every run of
 * the parser (a head fed byte by byte pays for each call).
 */

/* The head has ended and the scan waits for framing_set_body. */
static inline bool
framing_at_body(const struct framing *f)
{
	return f->st == FRAMING_BODY_WAIT;
}

/* How the body is framed: chunked (scanned), or not (skipped). */
static inline void
framing_set_body(struct framing *f, bool chunked)
{
	f->body = chunked ? FRAMING_CHUNK_SIZE : FRAMING_OPAQUE;
}

/* Still in the head (start line or field lines, not the trailer). */
static inline bool
framing_in_head(const struct framing *f)
{
	return !f->trailer && f->st < FRAMING_BODY_WAIT;
}

/* The chunked body and its trailer section have ended. */
static inline bool
framing_done(const struct framing *f)
{
	return f->st == FRAMING_DONE;
}

/* framing_set_body was told chunked. */
static inline bool
framing_chunked(const struct framing *f)
{
	return f->body == FRAMING_CHUNK_SIZE;
}

/* The head had a Transfer-Encoding (always "chunked": else refused). */
static inline bool
framing_te(const struct framing *f)
{
	return f->te != 0;
}

/* The head had a Content-Length. */
static inline bool
framing_cl(const struct framing *f)
{
	return f->cl != 0;
}

/* The start line's version: 10, 11 (or 0 for a response's HTTP/0.0). */
static inline int
framing_version(const struct framing *f)
{
	return f->version;
}

#endif
