/*
 * Unit tests for the strict framing checker alone (common/framing.c), no
 * http_parser behind it: test_httpmsg's "strict" group checks the two
 * together.  Each table row is a message as an accepted prefix and the
 * rest, which must be refused at its first byte with the given error;
 * every row is scanned whole, split in two at every offset and byte by
 * byte, and must give the same answer at the same offset.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "framing.h"

#define MAXLINE		256	/* chunk-size line and trailer cap */

#define R	true		/* a request */
#define S	false		/* a response */

struct frow {
	bool		 request;
	const char	*ok;		/* accepted bytes */
	size_t		 oklen;
	const char	*bad;		/* refused from its first byte on */
	size_t		 badlen;
	const char	*err;		/* NULL: the whole row is accepted */
};

#define ROW(k, ok, bad, err)	\
	{ (k), (ok), sizeof(ok) - 1, (bad), sizeof(bad) - 1, (err) }
#define GOOD(k, ok)		ROW(k, ok, "", NULL)

#define POST	"POST / HTTP/1.1\r\nHost: h\r\n"
#define TE	"Transfer-Encoding: chunked\r\n\r\n"

static const struct frow rows[] = {
	/* Accepted: RFC 9112 as written, not stricter. */
	GOOD(R, "GET /metrics HTTP/1.1\r\nHost: node1:9100\r\n"
	    "Accept: text/plain;version=0.0.4\r\n\r\n"),
	GOOD(R, "\r\n\r\nPOST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"),
	GOOD(R, POST TE "5;a=b;c=\"d e\"\r\nhello\r\n3 ;x\r\nabc\r\n"
	    "0\r\nX-T: v\r\nY-T:\r\n\r\n"),
	GOOD(R, POST "Transfer-Encoding: \t ChUnKeD  \r\n\r\n"
	    "0005\r\nhello\r\n0;last\r\n\r\n"),
	GOOD(R, POST "content-length:\t 8  \r\nX: caf\303\251\t!\r\n\r\n"
	    "helloabc"),
	GOOD(R, "POST http://h:1/m?a=%20&b HTTP/1.1\r\n\r\n"),
	GOOD(S, "HTTP/1.1 200 OK\r\n" TE "2\r\nhe\r\n0\r\n\r\n"),
	GOOD(S, "HTTP/0.0 500 Internal Server Error\r\n"
	    "Content-Length: 5\r\n\r\nhello"),
	GOOD(S, "HTTP/1.0 200 OK\r\n\r\nuntil EOF"),
	GOOD(S, "HTTP/1.1 200\r\n\r\n"),
	GOOD(S, "HTTP/1.1 200 \303\251t\t\303\251 x\r\n\r\n"),

	/* Chunk framing. */
	ROW(R, POST TE "5\r\nhello", "XX3\r\nabc\r\n0\r\n\r\n",
	    "missing CRLF after chunk data"),
	ROW(R, POST TE "5\r\nhello\r", "3\r\nabc\r\n0\r\n\r\n",
	    "missing CRLF after chunk data"),
	ROW(R, POST TE "0", "x5\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	ROW(R, POST TE "5 ", "x\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	ROW(R, POST TE "5", "\nhello\r\n0\r\n\r\n", "invalid chunk size line"),
	ROW(R, POST TE "", "-5\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk size line"),
	ROW(R, POST TE "5;a", "\001b\r\nhello\r\n0\r\n\r\n",
	    "invalid chunk extension"),
	ROW(R, POST TE "fffffffffffffff", "f\r\n", "chunk size too large"),
	ROW(S, "HTTP/1.1 200 OK\r\n" TE "0\r\nX: y", "\n\r\n",
	    "bare LF in chunked trailer"),
	ROW(S, "HTTP/1.1 200 OK\r\n" TE "0\r\nX: y\r\n", " z\r\n\r\n",
	    "obs-fold (folded trailer line)"),
	ROW(S, "HTTP/1.1 200 OK\r\n" TE "0\r\nContent-Length", ": 5\r\n\r\n",
	    "Transfer-Encoding or Content-Length in chunked trailer"),

	/* Transfer-Encoding and Content-Length. */
	ROW(R, POST "Transfer-Encoding: chunked\r\nTransfer-Encoding",
	    ": chunked\r\n\r\n0\r\n\r\n", "duplicate Transfer-Encoding"),
	ROW(R, POST "Transfer-Encoding: ", "gzip, chunked\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	ROW(R, POST "Transfer-Encoding: chunked", "\t\r\n\r\n0\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	ROW(R, POST "Transfer-Encoding: chunk", "\r\n\r\n",
	    "Transfer-Encoding other than chunked"),
	ROW(R, POST "Content-Length: 5\r\nTransfer-Encoding",
	    ": chunked\r\n\r\n0\r\n\r\n",
	    "Transfer-Encoding with Content-Length"),
	ROW(R, POST "Content-Length: 5\r\nContent-Length",
	    ": 5\r\n\r\nhello", "duplicate Content-Length"),
	ROW(R, POST "Content-Length: 5", "\t\r\n\r\nhello",
	    "invalid Content-Length"),
	ROW(R, POST "Content-Length: 5", ",5\r\n\r\nhello",
	    "invalid Content-Length"),
	ROW(R, POST "Content-Length: ", "\r\n\r\n", "invalid Content-Length"),
	ROW(R, POST "Content-Length: 123456789012345678", "9\r\n\r\n",
	    "Content-Length too large"),
	ROW(R, POST "Transfer-Encoding-X", ": y\r\n\r\n",
	    "ambiguous Transfer-Encoding header name"),
	ROW(R, "POST / HTTP/1.0\r\nTransfer-Encoding", ": chunked\r\n\r\n",
	    "Transfer-Encoding in an HTTP/1.0 message"),
	ROW(S, "HTTP/0.0 500 Error\r\nTransfer-Encoding", ": chunked\r\n\r\n",
	    "Transfer-Encoding in an HTTP/1.0 message"),

	/* Field lines. */
	ROW(R, POST "X: a", "\nY: b\r\n\r\n", "bare LF in message head"),
	ROW(R, POST "X: a\r", "b\r\n\r\n", "bare CR in message head"),
	ROW(R, POST, " X: a\r\n\r\n", "obs-fold (folded header line)"),
	ROW(R, POST "X: a\r\n", "\tb\r\n\r\n", "obs-fold (folded header line)"),
	ROW(R, POST "X: a", "\001b\r\n\r\n",
	    "control character in header value"),
	ROW(R, POST "X: a", "\177b\r\n\r\n",
	    "control character in header value"),
	ROW(R, POST "X: a", "\0b\r\n\r\n", "NUL byte in message head"),
	ROW(R, POST "Host", " : a\r\n\r\n", "invalid header name"),
	ROW(R, POST, ": a\r\n\r\n", "invalid header name"),
	ROW(R, POST "X", "(y): a\r\n\r\n", "invalid header name"),

	/* Start lines. */
	ROW(R, "", " GET / HTTP/1.1\r\n\r\n", "invalid request method"),
	ROW(R, "\r\n", "\nGET / HTTP/1.1\r\n\r\n", "bare LF in message head"),
	ROW(R, "\r", "GET / HTTP/1.1\r\n\r\n", "bare CR in message head"),
	ROW(R, "GET ", " / HTTP/1.1\r\n\r\n",
	    "invalid character in request target"),
	ROW(R, "GET /", "\377 HTTP/1.1\r\n\r\n",
	    "invalid character in request target"),
	ROW(R, "GET /", "\r\n\r\n", "invalid request line"),
	ROW(R, "GET / HTTP/1.", "2\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	ROW(R, "GET / HTTP/1.1", " \r\n\r\n",
	    "invalid or unsupported HTTP version"),
	ROW(R, "GET / ", "http/1.1\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	ROW(S, "HTTP/1.", "2 200 OK\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	ROW(S, "HTTP/", "9.9 200 OK\r\n\r\n",
	    "invalid or unsupported HTTP version"),
	ROW(S, "", "http/1.1 200 OK\r\n\r\n", "invalid status line"),
	ROW(S, "HTTP/1.1 20", " OK\r\n\r\n", "invalid status code"),
	ROW(S, "HTTP/1.1 200", "0 OK\r\n\r\n", "invalid status line"),
	ROW(S, "HTTP/1.1 200 O", "\001K\r\n\r\n",
	    "control character in reason phrase"),
	ROW(S, "HTTP/1.1 200 OK", "\n\r\n", "bare LF in message head"),
};

/*
 * Scans wire as a caller would: in pieces of at most step bytes, or (step
 * 0) in two pieces cut at cut; at the end of the head the body framing is
 * the checker's own (chunked if it saw Transfer-Encoding).  Returns the
 * error or NULL; *good gets how many bytes were accepted.
 */
static const char *
scan(bool request, const char *wire, size_t len, size_t step, size_t cut,
    size_t *good)
{
	struct framing f;
	const char *why = NULL;
	size_t off = 0, piece, n;
	bool body_set = false;

	framing_init(&f, request, MAXLINE);
	while (off < len) {
		if (step > 0)
			piece = len - off < step ? len - off : step;
		else
			piece = off < cut ? cut - off : len - off;
		n = framing_scan(&f, wire + off, piece, &why);
		ck_assert_uint_le(n, piece);
		off += n;
		if (why != NULL || framing_done(&f))
			break;
		if (framing_at_body(&f) && !body_set) {
			framing_set_body(&f, framing_te(&f));
			body_set = true;
		} else
			ck_assert_uint_eq(n, piece);	/* no idle stops */
	}
	*good = off;
	return why;
}

START_TEST(test_framing_rows)
{
	const struct frow *row = &rows[_i];
	char wire[512];
	const char *why, *want = row->err;
	size_t len = row->oklen + row->badlen, good, cut;

	ck_assert_uint_le(len, sizeof(wire));
	memcpy(wire, row->ok, row->oklen);
	memcpy(wire + row->oklen, row->bad, row->badlen);
	for (cut = 0; cut <= len + 1; cut++) {
		/* cut 0: byte by byte; len + 1: whole; else two pieces. */
		why = scan(row->request, wire, len, cut == 0 ? 1 :
		    cut == len + 1 ? len : 0, cut, &good);
		ck_assert_msg(want == NULL ? why == NULL : why != NULL &&
		    strcmp(why, want) == 0, "row %d, cut %zu: \"%s\", want "
		    "\"%s\"", _i, cut, why ? why : "accepted",
		    want ? want : "accepted");
		ck_assert_msg(good == row->oklen, "row %d, cut %zu: %zu bytes "
		    "accepted, want %zu", _i, cut, good, row->oklen);
	}
}
END_TEST

/* The checker's view of a head, and the body framing it is told. */
START_TEST(test_framing_accessors)
{
	static const char head[] = "POST / HTTP/1.0\r\nContent-Length: 3\r\n"
	    "\r\n";
	static const char chunked[] = "HTTP/1.1 200 OK\r\n" TE "3\r\nabc\r\n"
	    "0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
	struct framing f, look;
	const char *why;
	size_t n, end;

	framing_init(&f, true, MAXLINE);
	ck_assert(framing_in_head(&f));
	ck_assert(!framing_at_body(&f));
	/* The scan stops where the head ends, before the body. */
	n = framing_scan(&f, head, sizeof(head) - 1, &why);
	ck_assert_uint_eq(n, sizeof(head) - 1);
	ck_assert_ptr_null(why);
	ck_assert(framing_at_body(&f));
	ck_assert(!framing_in_head(&f));
	ck_assert(framing_cl(&f));
	ck_assert(!framing_te(&f));
	ck_assert_int_eq(framing_version(&f), 10);
	/* Until told how the body is framed, it takes nothing more. */
	ck_assert_uint_eq(framing_scan(&f, "abc", 3, &why), 0);
	ck_assert_ptr_null(why);
	framing_set_body(&f, false);
	ck_assert(!framing_chunked(&f));
	ck_assert_uint_eq(framing_scan(&f, "abc", 3, &why), 3);
	ck_assert(!framing_done(&f));	/* an opaque body has no end here */

	/* A chunked response: the scan stops at the end of the message. */
	framing_init(&f, false, MAXLINE);
	end = strstr(chunked, "HTTP/1.1 204") - chunked;
	n = framing_scan(&f, chunked, sizeof(chunked) - 1, &why);
	ck_assert(framing_at_body(&f));
	ck_assert(framing_te(&f) && !framing_cl(&f));
	ck_assert_int_eq(framing_version(&f), 11);
	framing_set_body(&f, true);
	ck_assert(framing_chunked(&f));
	/* Read ahead on a copy; the original has not moved. */
	look = f;
	n += framing_scan(&look, chunked + n, sizeof(chunked) - 1 - n, &why);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(n, end);
	ck_assert(framing_done(&look));
	ck_assert(!framing_done(&f));
	ck_assert(!framing_in_head(&look));
}
END_TEST

/* Chunk data is skipped in bulk, whatever its size. */
START_TEST(test_framing_bulk)
{
	static char data[1 << 16];
	static const char head[] = "HTTP/1.1 200 OK\r\n" TE "10000\r\n";
	struct framing f;
	const char *why;
	size_t i;

	framing_init(&f, false, MAXLINE);
	ck_assert_uint_eq(framing_scan(&f, head, sizeof(head) - 1, &why),
	    strstr(head, "10000") - head);
	framing_set_body(&f, true);
	ck_assert_uint_eq(framing_scan(&f, strstr(head, "10000"), 7, &why),
	    7);
	/* Chunk data may hold anything: NUL, bare LF, CR. */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i % 256);
	ck_assert_uint_eq(framing_scan(&f, data, sizeof(data), &why),
	    sizeof(data));
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(framing_scan(&f, "\r\n0\r\n\r\n", 7, &why), 7);
	ck_assert(framing_done(&f));
}
END_TEST

/* A chunk-size line and a trailer section are capped at max_line. */
START_TEST(test_framing_caps)
{
	char wire[2048];
	const char *why;
	size_t len, good, i;

	len = (size_t)snprintf(wire, sizeof(wire), "%s", POST TE);
	for (i = 0; i < MAXLINE + 1; i++)
		wire[len++] = '0';
	why = scan(true, wire, len, len, 0, &good);
	ck_assert_str_eq(why, "chunk size line too long");
	ck_assert_uint_eq(good, len - 1);	/* the line's 257th byte */

	len = (size_t)snprintf(wire, sizeof(wire), "%s0\r\n", POST TE);
	for (i = 0; i < 20; i++)
		len += (size_t)snprintf(wire + len, sizeof(wire) - len,
		    "X-Trailer: 0123456789\r\n");
	why = scan(true, wire, len, 1, 0, &good);
	ck_assert_str_eq(why, "chunked trailer too large");
	ck_assert_uint_eq(good, strlen(POST TE "0\r\n") + MAXLINE);
}
END_TEST

static bool
is_tchar(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", (int)c) != NULL);
}

/*
 * Every byte value in a field name, a field value and a request target
 * against RFC 9110's classes (the checker uses a table).
 */
START_TEST(test_framing_byte_classes)
{
	char wire[128];
	const char *why;
	size_t len, good;
	unsigned c;
	bool vchar;

	for (c = 0; c < 256; c++) {
		if (c == ':')
			continue;	/* ends the name: a different row */
		len = (size_t)snprintf(wire, sizeof(wire), "%sX_Y: v\r\n\r\n",
		    POST);
		wire[strlen(POST) + 1] = (char)c;
		why = scan(true, wire, len, len, 0, &good);
		ck_assert_msg((why == NULL) == is_tchar(c),
		    "name byte 0x%02x: %s", c, why ? why : "accepted");

		vchar = c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
		len = (size_t)snprintf(wire, sizeof(wire), "%sX: a_b\r\n\r\n",
		    POST);
		wire[strlen(POST) + 4] = (char)c;
		why = scan(true, wire, len, len, 0, &good);
		ck_assert_msg((why == NULL) == vchar, "value byte 0x%02x: %s",
		    c, why ? why : "accepted");

		len = (size_t)snprintf(wire, sizeof(wire),
		    "GET /_ HTTP/1.1\r\n\r\n");
		wire[5] = (char)c;
		why = scan(true, wire, len, len, 0, &good);
		ck_assert_msg((why == NULL) == (c > 0x20 && c < 0x7f),
		    "target byte 0x%02x: %s", c, why ? why : "accepted");
	}
}
END_TEST

Suite *
framing_suite(void)
{
	Suite *s = suite_create("framing");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_framing_rows, 0,
	    (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_framing_accessors);
	tcase_add_test(tc, test_framing_bulk);
	tcase_add_test(tc, test_framing_caps);
	tcase_add_test(tc, test_framing_byte_classes);
	suite_add_tcase(s, tc);
	return s;
}
