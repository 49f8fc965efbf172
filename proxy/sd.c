/*
 * Service discovery output, built with jansson so the JSON is always valid
 * whatever bytes a client registered with (poll bodies are checked too).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httpserver.h"
#include "log.h"
#include "proxy.h"
#include "registry.h"
#include "sd.h"

char *
sd_render(const char *const *fqdns, size_t n)
{
	json_t *arr, *group;
	char *out;
	size_t i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		group = json_pack("{s:[s],s:{}}", "targets", fqdns[i],
		    "labels");
		if (group == NULL || json_array_append_new(arr, group) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return out;
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
