/*
 * Service discovery in Prometheus's http_sd / file_sd JSON, sorted by
 * FQDN (docs/protocol.md 2.4):
 *   GET /clients: one group per live client, upstream's shape
 *     [{"targets":["FQDN"],"labels":{...}}] with its advertised labels and
 *     the __meta_pushprox_* liveness labels;
 *   GET /targets: one group per advertised target of every live client,
 *     ready to scrape through proxy_url ("FQDN:0", __metrics_path__,
 *     instance FQDN/NAME).  A client that advertised nothing (a Go
 *     client) has no group here.
 */
#ifndef PUSHPROX_SD_H
#define PUSHPROX_SD_H

#include <stddef.h>
#include <stdint.h>

struct advert;
struct buf;
struct httpreq;
struct proxy;
struct registry_entry;

enum sd_kind {
	SD_CLIENTS,
	SD_TARGETS,
};

/* Answers GET /clients. */
void sd_reply(struct proxy *px, struct httpreq *req);

/* Answers GET /targets. */
void sd_targets_reply(struct proxy *px, struct httpreq *req);

/*
 * The groups of advertisement a of client fqdn, pre-rendered for the
 * registry (registry_set_advert): the JSON with a NUL where each group's
 * liveness labels go.  Caller frees with free(); NULL on ENOMEM.
 */
char *sd_prerender(const struct advert *a, const char *fqdn,
    enum sd_kind kind);

/*
 * Appends the JSON array for these live clients (sorted, as
 * registry_snapshot gives them) seen from now_ms.  0, or -1 at out's cap
 * or on ENOMEM.
 */
int sd_render(struct buf *out, const struct registry_entry *v, size_t n,
    int64_t now_ms, enum sd_kind kind);

#endif
