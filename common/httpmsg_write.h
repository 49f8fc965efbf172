/*
 * Writing HTTP/1.1 heads (the writing half of the httpmsg module; the
 * parser is httpmsg.h, which includes this header).
 */
#ifndef PUSHPROX_HTTPMSG_WRITE_H
#define PUSHPROX_HTTPMSG_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct httpmsg_header;

/* Standard reason phrase for a status ("Gateway Timeout"), or "Unknown". */
const char *httpmsg_reason_phrase(int status);

/*
 * Append a request head in proxy form ("GET http://h:1/m HTTP/1.1",
 * headers, blank line) or a response head ("HTTP/1.1 200 OK", ...).
 * Return -1 if out is full or a name or value holds CR, LF or NUL.
 */
int httpmsg_write_request_head(struct buf *out, const char *method,
    const char *url, const struct httpmsg_header *h, size_t n) BUF_WUR;
int httpmsg_write_response_head(struct buf *out, int status,
    const char *reason, const struct httpmsg_header *h, size_t n) BUF_WUR;

/* True if a header name is a token and a value has no CR, LF or NUL. */
bool httpmsg_header_valid(const char *name, const char *value);

#endif
