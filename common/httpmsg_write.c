/*
 * Writing HTTP/1.1 heads: a request in proxy form (the scrape a poll
 * answer carries), a response head (a push), the header validity both
 * need and the parser shares (a token name, a value without CR or LF),
 * and standard reason phrases.  Writers refuse what would let a value
 * forge another header or line: they never escape, they fail.
 *
 * The functions keep the httpmsg_ prefix: this is the writing half of
 * the httpmsg module (declared in httpmsg_write.h, which httpmsg.h
 * includes).
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "httpmsg.h"

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
