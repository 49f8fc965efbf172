/*
 * The client's --targets.file at run time: loaded once at start (a bad
 * file fails the start with its file, line and key), its directories
 * watched (client/targetwatch.c: inotify, then a rescan every
 * --targets.rescan-interval), and reloaded on SIGHUP.  A reload or a
 * rescan that fails keeps the set as it was and logs why.  Every change
 * replaces c->targets and calls client_targets_changed.
 */
#ifndef PUSHPROX_CLIENT_TARGETSCTL_H
#define PUSHPROX_CLIENT_TARGETSCTL_H

#include <stdbool.h>

struct client;
struct targetsctl;

/*
 * Loads c->cfg->targets_file into c->targets, starts the watcher and the
 * SIGHUP handler.  Without the flag, does nothing and returns NULL with
 * *failed false (SIGHUP keeps its default).  On failure logs why, sets
 * *failed and returns NULL.
 */
struct targetsctl *targetsctl_new(struct client *c, bool *failed);

/* Stops watching and frees c->targets.  NULL is a no-op. */
void targetsctl_free(struct targetsctl *tc);

#endif
