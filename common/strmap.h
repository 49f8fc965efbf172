/*
 * A string-keyed hash map (separate chaining, power-of-two buckets, grows
 * at load 1).  Keys are copied; values are borrowed pointers the caller
 * owns.  Used for the O(1) lookups by FQDN and by scrape id.
 */
#ifndef PUSHPROX_STRMAP_H
#define PUSHPROX_STRMAP_H

#include <stddef.h>

struct strmap;

typedef void (*strmap_each_cb)(const char *key, void *val, void *arg);

/* Returns a new empty map; caller frees with strmap_free. NULL on ENOMEM. */
struct strmap *strmap_new(void);

/* Frees the map and its key copies, not the values. NULL is a no-op. */
void strmap_free(struct strmap *m);

/* Returns the value for key, or NULL; borrowed. */
void *strmap_get(const struct strmap *m, const char *key);

/* Sets key to val (replacing); returns 0, or -1 on ENOMEM. */
int strmap_put(struct strmap *m, const char *key, void *val);

/* Removes key; returns its value (caller's again), or NULL if absent. */
void *strmap_remove(struct strmap *m, const char *key);

size_t strmap_count(const struct strmap *m);

/* Calls cb for each entry in no particular order; cb must not modify m. */
void strmap_foreach(const struct strmap *m, strmap_each_cb cb, void *arg);

#endif
