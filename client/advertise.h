/*
 * The advertisement exchange with one proxy (docs/protocol.md 2.2): what
 * the client knows of that proxy, and its POST <proxy>/advertise.
 *
 *   UNKNOWN --(204 + Pushprox-Advertise: required)--> ASKED
 *   ASKED --(POST /advertise: 404)--> UNSUPPORTED          (final)
 *   ASKED --(400, 413, 415 for tag T)--> REFUSED(T) --(tag != T)--> ASKED
 *
 * Polls carry the tag unless the proxy is UNSUPPORTED or REFUSED the
 * current tag.  A proxy that asked is sent the advertisement again at
 * once when the set changes; one that never asked (a Go proxy) never is.
 * The state functions are pure (unit-tested in tests/test_poller.c); the
 * transfer reads the client's current advertisement (c->advert) when it
 * starts, and a change during a transfer sends again after it.
 */
#ifndef PUSHPROX_CLIENT_ADVERTISE_H
#define PUSHPROX_CLIENT_ADVERTISE_H

#include <stdbool.h>

#include <curl/curl.h>

#include "advert.h"
#include "buf.h"

struct client;
struct config_proxy;

enum advertise_state {
	ADVERTISE_UNKNOWN,	/* the proxy never asked */
	ADVERTISE_ASKED,	/* it asked once: it speaks the extension */
	ADVERTISE_UNSUPPORTED,	/* 404 on /advertise: a Go proxy */
	ADVERTISE_REFUSED,	/* 400, 413 or 415 for the tag in refused */
};

/* How one POST /advertise ended. */
enum advertise_outcome {
	ADVERTISE_STORED,	/* 2xx */
	ADVERTISE_NOT_FOUND,	/* 404: the proxy does not speak it */
	ADVERTISE_REFUSAL,	/* 400, 413, 415: this advertisement */
	ADVERTISE_FAILED,	/* network, 401, 403, 429, 5xx, ...: retry */
};

/* Called when a POST /advertise ended (not when it was stopped). */
typedef void (*advertise_done_cb)(void *arg, enum advertise_outcome o);

struct advertise {
	enum advertise_state		 state;
	char				 refused[ADVERT_MAX_TAG + 1];
	bool				 told_unsupported; /* logged once */
	/* The transfer. */
	struct client			*c;
	const struct config_proxy	*px;
	advertise_done_cb		 done;
	void				*arg;
	CURL				*easy;
	struct curl_slist		*hdrs;
	struct buf			 answer; /* first bytes, for logs */
	char				 errbuf[CURL_ERROR_SIZE];
	char				 tag[ADVERT_MAX_TAG + 1]; /* sent */
	bool				 again;	/* the set changed meanwhile */
};

/* The names of the states, for logs and tests. */
extern const char *const advertise_state_names[];

/* The tag a poll carries (tag: the client's current one, or NULL). */
const char *advertise_poll_tag(const struct advertise *a, const char *tag);

/*
 * The proxy answered a poll with 204 + Pushprox-Advertise: required.
 * Returns whether to POST the advertisement now (not for an UNSUPPORTED
 * proxy, nor without an advertisement: tag NULL).
 */
bool advertise_asked(struct advertise *a, const char *tag);

/* The outcome of a POST /advertise from its status and curl's result. */
enum advertise_outcome advertise_classify(CURLcode res, long status);

/* Applies an outcome for tag to the state. */
void advertise_apply(struct advertise *a, enum advertise_outcome o,
    const char *tag);

/*
 * The client's advertisement changed to tag (NULL: none).  Returns
 * whether to POST it now: only to a proxy that asked (ASKED, or REFUSED
 * an older tag, which then counts as ASKED again).
 */
bool advertise_changed(struct advertise *a, const char *tag);

/* Prepares a (zeroed by the caller) for the proxy px of c; 0 or -1. */
int advertise_init(struct advertise *a, struct client *c,
    const struct config_proxy *px, advertise_done_cb done, void *arg);

/*
 * Starts POST /advertise with c's current advertisement; while one runs,
 * marks it to be sent again when it ends.  Returns 0, or -1 if it could
 * not start (logged; done is not called).
 */
int advertise_send(struct advertise *a);

/* Whether a POST /advertise is running. */
bool advertise_busy(const struct advertise *a);

/* Cancels the transfer, if any (done is not called). */
void advertise_stop(struct advertise *a);

/* Stops and frees what a holds (not a itself). */
void advertise_release(struct advertise *a);

#endif
