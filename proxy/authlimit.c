/*
 * Token buckets per source, kept as a "theoretical arrival time" (GCRA):
 * one number per source, the time at which its bucket would be full again.
 * A check may go when that time, plus one token's worth, is no more than a
 * whole bucket ahead of now.  An entry whose time has passed holds a full
 * bucket and is dropped; the table is an LRU list bounded by max_sources.
 */
#include <sys/queue.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authlimit.h"
#include "strmap.h"

struct authlimit_entry {
	TAILQ_ENTRY(authlimit_entry)	 lru;
	int64_t				 tat_us; /* bucket full again then */
	char				 source[AUTHLIMIT_SOURCE_LEN];
};

TAILQ_HEAD(authlimit_list, authlimit_entry);

struct authlimit {
	struct strmap		*sources;	/* source -> entry */
	struct authlimit_list	 lru;		/* least recently seen first */
	size_t			 max_sources;
	int64_t			 token_us;	/* refill time of one token */
	int64_t			 burst_us;	/* of a whole bucket */
};

struct authlimit *
authlimit_new(int64_t per_minute, size_t max_sources)
{
	struct authlimit *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->sources = strmap_new()) == NULL) {
		free(l);
		return NULL;
	}
	TAILQ_INIT(&l->lru);
	l->max_sources = max_sources > 0 ? max_sources : 1;
	if (per_minute > 0) {
		l->token_us = 60LL * 1000 * 1000 / per_minute;
		if (l->token_us < 1)
			l->token_us = 1;
		l->burst_us = l->token_us * per_minute;
	}
	return l;
}

static void
authlimit_drop(struct authlimit *l, struct authlimit_entry *e)
{
	strmap_remove(l->sources, e->source);
	TAILQ_REMOVE(&l->lru, e, lru);
	free(e);
}

void
authlimit_free(struct authlimit *l)
{
	struct authlimit_entry *e;

	if (l == NULL)
		return;
	while ((e = TAILQ_FIRST(&l->lru)) != NULL)
		authlimit_drop(l, e);
	strmap_free(l->sources);
	free(l);
}

bool
authlimit_take(struct authlimit *l, const char *source, int64_t now_ms,
    int64_t *retry_ms)
{
	struct authlimit_entry *e;
	int64_t now = now_ms * 1000, tat;
	int i;

	if (l->token_us == 0)
		return true;
	/* Forget a few sources whose buckets refilled. */
	for (i = 0; i < 2 && (e = TAILQ_FIRST(&l->lru)) != NULL &&
	    e->tat_us <= now; i++)
		authlimit_drop(l, e);
	if ((e = strmap_get(l->sources, source)) == NULL) {
		if (strmap_count(l->sources) >= l->max_sources)
			authlimit_drop(l, TAILQ_FIRST(&l->lru));
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return true;	/* fail open: the pool still bounds */
		snprintf(e->source, sizeof(e->source), "%s", source);
		if (strmap_put(l->sources, e->source, e) == -1) {
			free(e);
			return true;
		}
		e->tat_us = now;
		TAILQ_INSERT_TAIL(&l->lru, e, lru);
	} else {
		TAILQ_REMOVE(&l->lru, e, lru);
		TAILQ_INSERT_TAIL(&l->lru, e, lru);
	}
	tat = e->tat_us > now ? e->tat_us : now;
	if (tat + l->token_us - now > l->burst_us) {
		if (retry_ms != NULL)
			*retry_ms = (tat + l->token_us - now - l->burst_us +
			    999) / 1000;
		return false;
	}
	e->tat_us = tat + l->token_us;
	return true;
}

void
authlimit_give(struct authlimit *l, const char *source, int64_t now_ms)
{
	struct authlimit_entry *e;

	if (l->token_us == 0 || (e = strmap_get(l->sources, source)) == NULL)
		return;
	e->tat_us -= l->token_us;
	if (e->tat_us <= now_ms * 1000)
		authlimit_drop(l, e);
}

size_t
authlimit_count(const struct authlimit *l)
{
	return strmap_count(l->sources);
}

void
authlimit_source(const char *peer, char out[AUTHLIMIT_SOURCE_LEN])
{
	struct in6_addr a6;
	char host[AUTHLIMIT_SOURCE_LEN], v6[INET6_ADDRSTRLEN];
	const char *end;
	size_t n;

	if (peer[0] == '[' && (end = strchr(peer, ']')) != NULL)
		n = (size_t)(end - peer - 1), peer++;
	else if ((end = strrchr(peer, ':')) != NULL)
		n = (size_t)(end - peer);
	else
		n = strlen(peer);
	if (n >= sizeof(host))
		n = sizeof(host) - 1;
	memcpy(host, peer, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, &a6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(&a6.s6_addr[8], 0, 8);
		if (inet_ntop(AF_INET6, &a6, v6, sizeof(v6)) != NULL) {
			snprintf(out, AUTHLIMIT_SOURCE_LEN, "%s/64", v6);
			return;
		}
	}
	snprintf(out, AUTHLIMIT_SOURCE_LEN, "%s", host);
}
