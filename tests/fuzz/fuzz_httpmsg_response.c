/*
 * common/httpmsg in HTTPMSG_RESPONSE mode: the pushed response the
 * proxy parses from a POST /push body and relays to Prometheus.
 * See fuzz_httpmsg.h for the input layout.
 */
#include "fuzz_httpmsg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_httpmsg_run(HTTPMSG_RESPONSE, data, size);
}
