/*
 * Separate chaining with FNV-1a hashes.  The bucket count is a power of two
 * (index = hash & mask) and doubles when entries outnumber buckets, keeping
 * chains short on average.  Each entry stores its hash, so growing never
 * rehashes a key and lookups compare strings only on a hash match.  If
 * growing fails for lack of memory the map just stays denser: correct,
 * only slower.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define STRMAP_MIN_BUCKETS	16

struct strmap_entry {
	struct strmap_entry	*next;
	uint64_t		 hash;
	void			*val;
	char			 key[];
};

struct strmap {
	struct strmap_entry	**buckets;
	size_t			  nbuckets;	/* power of two */
	size_t			  count;
};

static uint64_t
strmap_hash_compute(const char *key)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap	*m;

	if ((m = malloc(sizeof(*m))) == NULL)
		return NULL;
	m->buckets = calloc(STRMAP_MIN_BUCKETS, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		free(m);
		return NULL;
	}
	m->nbuckets = STRMAP_MIN_BUCKETS;
	m->count = 0;
	return m;
}

void
strmap_free(struct strmap *m)
{
	struct strmap_entry	*e, *next;
	size_t			 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

/* The link pointing at key's entry (or at the chain's NULL end). */
static struct strmap_entry **
strmap_slot_find(const struct strmap *m, const char *key, uint64_t h)
{
	struct strmap_entry	**pp;

	pp = &m->buckets[h & (m->nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	}
	return pp;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry	*e;

	e = *strmap_slot_find(m, key, strmap_hash_compute(key));
	return e != NULL ? e->val : NULL;
}

static void
strmap_grow(struct strmap *m)
{
	struct strmap_entry	**nb, *e, *next;
	size_t			  n, i, j;

	if (m->nbuckets > SIZE_MAX / 2 / sizeof(*nb))
		return;
	n = m->nbuckets * 2;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			j = e->hash & (n - 1);
			e->next = nb[j];
			nb[j] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

int
strmap_put(struct strmap *m, const char *key, void *val)
{
	struct strmap_entry	**pp, *e;
	uint64_t		  h = strmap_hash_compute(key);
	size_t			  klen;

	pp = strmap_slot_find(m, key, h);
	if (*pp != NULL) {
		(*pp)->val = val;
		return 0;
	}
	klen = strlen(key);
	if ((e = malloc(sizeof(*e) + klen + 1)) == NULL)
		return -1;
	memcpy(e->key, key, klen + 1);
	e->hash = h;
	e->val = val;
	e->next = NULL;
	*pp = e;
	m->count++;
	if (m->count > m->nbuckets)
		strmap_grow(m);
	return 0;
}

void *
strmap_remove(struct strmap *m, const char *key)
{
	struct strmap_entry	**pp, *e;
	void			 *val;

	pp = strmap_slot_find(m, key, strmap_hash_compute(key));
	if ((e = *pp) == NULL)
		return NULL;
	*pp = e->next;
	val = e->val;
	free(e);
	m->count--;
	return val;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

void
strmap_foreach(const struct strmap *m, strmap_each_cb cb, void *arg)
{
	struct strmap_entry	*e, *next;
	size_t			 i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			cb(e->key, e->val, arg);
		}
	}
}
