/*
 * Clients in a strmap by FQDN; each holds two FIFO queues of waiters.
 * Liveness is "has a waiting poll, or last poll within the registration
 * timeout", so a client that is never scraped stays listed while it polls.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "strmap.h"

TAILQ_HEAD(registry_queue, registry_waiter);

struct registry_client {
	char			*fqdn;
	int64_t			 last_seen_ms;
	struct registry_queue	 polls;
	struct registry_queue	 scrapes;
	size_t			 npolls;
	size_t			 nscrapes;
};

struct registry {
	struct strmap	*clients;
	int64_t		 timeout_ms;
	size_t		 max_polls;
	size_t		 npolls;
	size_t		 nscrapes;
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
	free(reg);
}

static int
registry_client_live(const struct registry *reg,
    const struct registry_client *c, int64_t now_ms)
{
	return c->npolls > 0 || now_ms - c->last_seen_ms <= reg->timeout_ms;
}

enum registry_result
registry_add_poll(struct registry *reg, const char *fqdn, int64_t now_ms,
    struct registry_waiter *w, struct registry_waiter **match)
{
	struct registry_client *c;
	struct registry_waiter *s;

	if ((c = strmap_get(reg->clients, fqdn)) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->fqdn = strdup(fqdn)) == NULL) {
			free(c);
			return REGISTRY_NOMEM;
		}
		TAILQ_INIT(&c->polls);
		TAILQ_INIT(&c->scrapes);
		if (strmap_put(reg->clients, fqdn, c) == -1) {
			registry_client_free(c);
			return REGISTRY_NOMEM;
		}
	}
	c->last_seen_ms = now_ms;
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
	for (i = 0; i < sc.ndead; i++) {
		strmap_remove(reg->clients, sc.dead[i]->fqdn);
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
