/*
 * Service discovery output.  It is written straight into a buffer rather
 * than built as a jansson tree: with 19,000 clients jansson's build, dump
 * and free took most of a 60 ms answer (docs/performance.md).  That is
 * safe because an FQDN can only hold [a-z0-9-._:] (poll_parse_fqdn), none
 * of which JSON escapes; anything else would be refused here rather than
 * written.  The unit test parses the output with jansson.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "httpreq.h"
#include "log.h"
#include "proxy.h"
#include "registry.h"
#include "sd.h"

char *
sd_render(const char *const *fqdns, size_t n)
{
	static const char group[] = "{\"targets\":[\"\"],\"labels\":{}},";
	struct buf out;
	size_t i, need = 3;

	for (i = 0; i < n; i++)
		need += strlen(fqdns[i]) + sizeof(group);
	buf_init(&out, need);
	if (buf_puts(&out, "[") == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (strspn(fqdns[i], "abcdefghijklmnopqrstuvwxyz0123456789-._:") !=
		    strlen(fqdns[i]))
			goto fail;	/* never: poll_parse_fqdn checked it */
		if (buf_printf(&out, "%s{\"targets\":[\"%s\"],\"labels\":{}}",
		    i > 0 ? "," : "", fqdns[i]) == -1)
			goto fail;
	}
	if (buf_puts(&out, "]") == -1)
		goto fail;
	/* The caller frees with free(): hand over the storage. */
	return out.data != NULL ? out.data : strdup("[]");
fail:
	buf_release(&out);
	return NULL;
}

void
sd_reply(struct proxy *px, struct httpreq *req)
{
	const char **names;
	char *json = NULL;
	size_t n = 0;

	names = registry_live(px->registry, proxy_now_ms(px), &n);
	if (names != NULL)
		json = sd_render(names, n);
	free(names);
	if (json == NULL) {
		log_error("cannot render /clients", "error", "out of memory");
		httpreq_reply_text(req, 503, "out of memory");
		return;
	}
	httpreq_reply(req, 200, "application/json", json, strlen(json));
	free(json);
}
