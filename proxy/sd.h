/*
 * GET /clients: the live clients as Prometheus file_sd / http_sd JSON,
 * one target group per FQDN, sorted: [{"targets":["a"],"labels":{}}].
 */
#ifndef PUSHPROX_SD_H
#define PUSHPROX_SD_H

#include <stddef.h>

struct httpreq;
struct proxy;

/* Answers GET /clients. */
void sd_reply(struct proxy *px, struct httpreq *req);

/* The JSON for these FQDNs; caller frees with free(). NULL on ENOMEM. */
char *sd_render(const char *const *fqdns, size_t n);

#endif
