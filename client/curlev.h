/*
 * libcurl's multi interface driven by a libevent loop (curl's hiperfifo.c
 * model, without globals): curl tells us which sockets to watch and when
 * to wake it; finished transfers are reported through a per-transfer done
 * callback.  Easy handles stay owned by whoever added them.
 */
#ifndef PUSHPROX_CLIENT_CURLEV_H
#define PUSHPROX_CLIENT_CURLEV_H

#include <stddef.h>

#include <curl/curl.h>

struct event_base;
struct curlev;

/*
 * A transfer finished (result CURLE_OK or why not).  The handle has been
 * removed from the multi and is the callee's again: it may clean it up,
 * reuse it or add other transfers.
 */
typedef void (*curlev_done_cb)(CURL *easy, CURLcode result, void *arg);

/* Returns a new driver on base; caller frees with curlev_free. */
struct curlev *curlev_new(struct event_base *base);

/*
 * Removes transfers still running (their done callbacks do not run; the
 * handles stay their owners'), closes cached connections and frees.
 * NULL is a no-op.
 */
void curlev_free(struct curlev *cev);

/*
 * Starts a transfer.  curlev uses the handle's CURLOPT_PRIVATE; the caller
 * keeps owning easy and gets it back in done.  Returns 0, or -1 after
 * logging why (done will not run).
 */
int curlev_add(struct curlev *cev, CURL *easy, curlev_done_cb done,
    void *arg);

/*
 * Cancels a running transfer without calling done; the caller still owns
 * easy.  Not from inside the handle's own curl callbacks.
 */
void curlev_remove(struct curlev *cev, CURL *easy);

/* Transfers currently added. */
size_t curlev_count(const struct curlev *cev);

#endif
