/*
 * common/httpmsg in HTTPMSG_REQUEST mode: what the proxy's HTTP server
 * parses from every connection (polls, pushes, Prometheus' proxy-form
 * scrapes), and what the client parses from a poll answer.
 * See fuzz_httpmsg.h for the input layout.
 */
#include "fuzz_httpmsg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_httpmsg_run(HTTPMSG_REQUEST, data, size);
}
