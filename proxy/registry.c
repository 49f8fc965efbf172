/*
 * Clients in a strmap by FQDN; each holds two FIFO queues of waiters.
 * Liveness is "has a waiting poll, or last poll within the registration
 * timeout", so a client that is never scraped stays listed while it polls.
 * A client's advertisement lives and dies with its entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advert.h"
#include "registry.h"
#include "strmap.h"

#define REGISTRY_ADDRESS_LEN	64	/* "[v6 address]:port" and NUL */

TAILQ_HEAD(registry_queue, registry_waiter);

struct registry_client {
	char			*fqdn;
	int64_t			 last_seen_ms;
	struct registry_queue	 polls;
	struct registry_queue	 scrapes;
	size_t			 npolls;
	size_t			 nscrapes;
	struct advert		*advert;	/* NULL: none stored */
	char			*sd_client;	/* its groups, pre-rendered */
	char			*sd_targets;
	char			 tag[ADVERT_MAX_TAG + 1];
	char			 address[REGISTRY_ADDRESS_LEN];
};

struct registry {
	struct strmap	*clients;
	int64_t		 timeout_ms;
	size_t		 max_polls;
	size_t		 npolls;
	size_t		 nscrapes;
	size_t		 nadverts;
	/* Every client sorted by FQDN, rebuilt only after a client came or
	   went: discovery walks it instead of sorting 19,000 names a call. */
	struct registry_client	**sorted;
	size_t		 nsorted;
	int		 sorted_stale;
};

struct registry *
registry_new(int64_t registration_timeout_ms, size_t max_polls_per_client)
{
	struct registry *reg;

	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return NULL;
	if ((reg->clients = strmap_new()) == NULL) {
		free(reg);
		return NULL;
	}
	reg->timeout_ms = registration_timeout_ms;
	reg->max_polls = max_polls_per_client;
	return reg;
}

static void
registry_client_free(struct registry_client *c)
{
	struct registry_waiter *w;

	while ((w = TAILQ_FIRST(&c->polls)) != NULL) {
		TAILQ_REMOVE(&c->polls, w, entry);
		w->client = NULL;
	}
	while ((w = TAILQ_FIRST(&c->scrapes)) != NULL) {
		TAILQ_REMOVE(&c->scrapes, w, entry);
		w->client = NULL;
	}
	advert_free(c->advert);
	free(c->sd_client);
	free(c->sd_targets);
	free(c->fqdn);
	free(c);
}

static void
registry_free_each_cb(const char *key, void *val, void *arg)
{
	registry_client_free(val);
}

void
registry_free(struct registry *reg)
{
	if (reg == NULL)
		return;
	strmap_foreach(reg->clients, registry_free_each_cb, NULL);
	strmap_free(reg->clients);
	free(reg->sorted);
	free(reg);
}

static int
registry_client_live(const struct registry *reg,
    const struct registry_client *c, int64_t now_ms)
{
	return c->npolls > 0 || now_ms - c->last_seen_ms <= reg->timeout_ms;
}

/* The entry of fqdn, created if need be and marked seen; NULL: ENOMEM. */
static struct registry_client *
registry_client_get(struct registry *reg, const char *fqdn, int64_t now_ms)
{
	struct registry_client *c;

	if ((c = strmap_get(reg->clients, fqdn)) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->fqdn = strdup(fqdn)) == NULL) {
			free(c);
			return NULL;
		}
		TAILQ_INIT(&c->polls);
		TAILQ_INIT(&c->scrapes);
		if (strmap_put(reg->clients, fqdn, c) == -1) {
			registry_client_free(c);
			return NULL;
		}
		reg->sorted_stale = 1;
	}
	c->last_seen_ms = now_ms;
	return c;
}

enum registry_result
registry_add_poll(struct registry *reg, const char *fqdn, int64_t now_ms,
    struct registry_waiter *w, struct registry_waiter **match)
{
	struct registry_client *c;
	struct registry_waiter *s;

	if ((c = registry_client_get(reg, fqdn, now_ms)) == NULL)
		return REGISTRY_NOMEM;
	w->kind = REGISTRY_POLL;
	if ((s = TAILQ_FIRST(&c->scrapes)) != NULL) {
		TAILQ_REMOVE(&c->scrapes, s, entry);
		s->client = NULL;
		c->nscrapes--;
		reg->nscrapes--;
		*match = s;
		return REGISTRY_MATCHED;
	}
	if (c->npolls >= reg->max_polls)
		return REGISTRY_FULL;
	TAILQ_INSERT_TAIL(&c->polls, w, entry);
	w->client = c;
	c->npolls++;
	reg->npolls++;
	return REGISTRY_QUEUED;
}

enum registry_result
registry_add_scrape(struct registry *reg, const char *fqdn, int64_t now_ms,
    struct registry_waiter *w, struct registry_waiter **match)
{
	struct registry_client *c;
	struct registry_waiter *p;

	c = strmap_get(reg->clients, fqdn);
	if (c == NULL || !registry_client_live(reg, c, now_ms))
		return REGISTRY_UNKNOWN;
	w->kind = REGISTRY_SCRAPE;
	if ((p = TAILQ_FIRST(&c->polls)) != NULL) {
		TAILQ_REMOVE(&c->polls, p, entry);
		p->client = NULL;
		c->npolls--;
		reg->npolls--;
		*match = p;
		return REGISTRY_MATCHED;
	}
	TAILQ_INSERT_TAIL(&c->scrapes, w, entry);
	w->client = c;
	c->nscrapes++;
	reg->nscrapes++;
	return REGISTRY_QUEUED;
}

void
registry_remove(struct registry *reg, struct registry_waiter *w)
{
	struct registry_client *c = w->client;

	if (c == NULL)
		return;
	if (w->kind == REGISTRY_POLL) {
		TAILQ_REMOVE(&c->polls, w, entry);
		c->npolls--;
		reg->npolls--;
	} else {
		TAILQ_REMOVE(&c->scrapes, w, entry);
		c->nscrapes--;
		reg->nscrapes--;
	}
	w->client = NULL;
}

void
registry_touch(struct registry *reg, const char *fqdn, int64_t now_ms)
{
	struct registry_client *c;

	if ((c = strmap_get(reg->clients, fqdn)) != NULL)
		c->last_seen_ms = now_ms;
}

int
registry_is_live(struct registry *reg, const char *fqdn, int64_t now_ms)
{
	struct registry_client *c = strmap_get(reg->clients, fqdn);

	return c != NULL && registry_client_live(reg, c, now_ms);
}

struct registry_scan {
	const struct registry	 *reg;
	int64_t			  now_ms;
	const char		**names;
	size_t			  n;
	struct registry_client	**dead;
	size_t			  ndead;
};

static void
registry_scan_cb(const char *key, void *val, void *arg)
{
	struct registry_scan *sc = arg;
	struct registry_client *c = val;

	if (registry_client_live(sc->reg, c, sc->now_ms)) {
		if (sc->names != NULL)
			sc->names[sc->n++] = c->fqdn;
	} else if (sc->dead != NULL && c->nscrapes == 0)
		sc->dead[sc->ndead++] = c;
}

size_t
registry_expire(struct registry *reg, int64_t now_ms)
{
	struct registry_scan sc = { .reg = reg, .now_ms = now_ms };
	size_t i, n = strmap_count(reg->clients);

	if (n == 0 || (sc.dead = calloc(n, sizeof(*sc.dead))) == NULL)
		return 0;
	strmap_foreach(reg->clients, registry_scan_cb, &sc);
	if (sc.ndead > 0)
		reg->sorted_stale = 1;
	for (i = 0; i < sc.ndead; i++) {
		strmap_remove(reg->clients, sc.dead[i]->fqdn);
		if (sc.dead[i]->advert != NULL)
			reg->nadverts--;
		registry_client_free(sc.dead[i]);
	}
	free(sc.dead);
	return sc.ndead;
}

static int
registry_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
registry_live(struct registry *reg, int64_t now_ms, size_t *n)
{
	struct registry_scan sc = { .reg = reg, .now_ms = now_ms };
	size_t total = strmap_count(reg->clients);

	if ((sc.names = calloc(total + 1, sizeof(*sc.names))) == NULL)
		return NULL;
	strmap_foreach(reg->clients, registry_scan_cb, &sc);
	qsort(sc.names, sc.n, sizeof(*sc.names), registry_cmp);
	*n = sc.n;
	return sc.names;
}

int
registry_register(struct registry *reg, const char *fqdn, int64_t now_ms)
{
	return registry_client_get(reg, fqdn, now_ms) != NULL ? 0 : -1;
}

void
registry_set_peer(struct registry *reg, const char *fqdn, const char *peer)
{
	struct registry_client *c = strmap_get(reg->clients, fqdn);

	if (c != NULL)
		snprintf(c->address, sizeof(c->address), "%s", peer);
}

int
registry_set_advert(struct registry *reg, const char *fqdn,
    struct advert *a, const char *tag, char *sd_client, char *sd_targets)
{
	struct registry_client *c = strmap_get(reg->clients, fqdn);

	if (c == NULL || strlen(tag) > ADVERT_MAX_TAG || a == NULL) {
		advert_free(a);
		free(sd_client);
		free(sd_targets);
		return -1;
	}
	registry_clear_advert(reg, fqdn);
	c->advert = a;
	c->sd_client = sd_client;
	c->sd_targets = sd_targets;
	snprintf(c->tag, sizeof(c->tag), "%s", tag);
	reg->nadverts++;
	return 0;
}

void
registry_clear_advert(struct registry *reg, const char *fqdn)
{
	struct registry_client *c = strmap_get(reg->clients, fqdn);

	if (c == NULL || c->advert == NULL)
		return;
	advert_free(c->advert);
	free(c->sd_client);
	free(c->sd_targets);
	c->advert = NULL;
	c->sd_client = c->sd_targets = NULL;
	c->tag[0] = '\0';
	reg->nadverts--;
}

const struct advert *
registry_advert(const struct registry *reg, const char *fqdn,
    const char **tag)
{
	struct registry_client *c = strmap_get(reg->clients, fqdn);

	if (tag != NULL)
		*tag = c != NULL && c->advert != NULL ? c->tag : NULL;
	return c != NULL ? c->advert : NULL;
}

struct registry_collect {
	struct registry_client	**v;
	size_t			  n;
};

static void
registry_collect_cb(const char *key, void *val, void *arg)
{
	struct registry_collect *co = arg;

	co->v[co->n++] = val;
}

static int
registry_client_cmp(const void *a, const void *b)
{
	return strcmp((*(struct registry_client *const *)a)->fqdn,
	    (*(struct registry_client *const *)b)->fqdn);
}

/* Brings reg->sorted up to date.  0, or -1 (ENOMEM). */
static int
registry_sort(struct registry *reg)
{
	struct registry_collect co;

	if (!reg->sorted_stale && reg->sorted != NULL)
		return 0;
	co.n = 0;
	if ((co.v = calloc(strmap_count(reg->clients) + 1,
	    sizeof(*co.v))) == NULL)
		return -1;
	strmap_foreach(reg->clients, registry_collect_cb, &co);
	qsort(co.v, co.n, sizeof(*co.v), registry_client_cmp);
	free(reg->sorted);
	reg->sorted = co.v;
	reg->nsorted = co.n;
	reg->sorted_stale = 0;
	return 0;
}

struct registry_entry *
registry_snapshot(struct registry *reg, int64_t now_ms, size_t *n)
{
	struct registry_entry *v, *e;
	struct registry_client *c;
	size_t i;

	if (registry_sort(reg) == -1 ||
	    (v = calloc(reg->nsorted + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0, e = v; i < reg->nsorted; i++) {
		c = reg->sorted[i];
		if (!registry_client_live(reg, c, now_ms))
			continue;
		e->fqdn = c->fqdn;
		e->advert = c->advert;
		e->sd_client = c->sd_client;
		e->sd_targets = c->sd_targets;
		e->address = c->address[0] != '\0' ? c->address : NULL;
		e->last_seen_ms = c->last_seen_ms;
		e->poll_open = c->npolls > 0;
		e++;
	}
	*n = (size_t)(e - v);
	return v;
}

size_t
registry_adverts(const struct registry *reg)
{
	return reg->nadverts;
}

size_t
registry_clients(const struct registry *reg)
{
	return strmap_count(reg->clients);
}

size_t
registry_polls_waiting(const struct registry *reg)
{
	return reg->npolls;
}

size_t
registry_scrapes_waiting(const struct registry *reg)
{
	return reg->nscrapes;
}
