/*
 * Noticing that the socket and include directories of a targets set
 * changed: inotify on each directory (a socket or file created, deleted,
 * renamed in or out, or written and closed), then LIMIT_TARGETS_SETTLE_MS
 * of quiet so a burst is one rescan; and, in case inotify is unavailable
 * or misses something (network file systems, the watch limit), a rescan
 * every --targets.rescan-interval regardless.  A new file is therefore
 * seen about 100 ms after it is closed, or at worst one interval later.
 *
 * The watcher only calls cb; the caller runs targets_rescan and acts on a
 * change (re-advertises).  After targets_load it calls targetwatch_set
 * again, for the new set's directories.
 */
#ifndef PUSHPROX_CLIENT_TARGETWATCH_H
#define PUSHPROX_CLIENT_TARGETWATCH_H

#include <stdint.h>

struct event_base;
struct targets;
struct targetwatch;

typedef void (*targetwatch_cb)(void *arg);

/*
 * A watcher calling cb(arg) when a directory may have changed, and every
 * rescan_ms (0: never).  Caller frees with targetwatch_free; NULL if
 * libevent cannot allocate (start-up: the caller fails).
 */
struct targetwatch *targetwatch_new(struct event_base *base,
    int64_t rescan_ms, targetwatch_cb cb, void *arg);

/*
 * Watches the directories of set (NULL: none), replacing earlier ones.
 * Returns the number watched; a directory inotify cannot watch is logged
 * and left to the periodic rescan.
 */
int targetwatch_set(struct targetwatch *tw, const struct targets *set);

/* NULL is a no-op. */
void targetwatch_free(struct targetwatch *tw);

#endif
