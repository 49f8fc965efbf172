/*
 * The streaming window between a job's two transfers: a body larger than
 * LIMIT_RELAY_HIGH_WATER is not held whole; the push starts while the
 * target is still answering and the window holds at most that many
 * unsent bytes, each transfer paused when the other falls behind.
 */
#ifndef PUSHPROX_CLIENT_WINDOW_H
#define PUSHPROX_CLIENT_WINDOW_H

#include <stddef.h>

#include <event2/util.h>

struct job;

/*
 * Takes len bytes of the target's body (a curl write callback's answer):
 * len, CURL_WRITEFUNC_PAUSE when the window is full, or
 * CURL_WRITEFUNC_ERROR with j->fail set.  Opens the window (OPENING) when
 * the body outgrows it.
 */
size_t window_write(struct job *j, const char *data, size_t len);

/*
 * Fills dst (want bytes, done of them already written) from the window
 * for the streamed push (a curl read callback's answer): the bytes
 * written, CURL_READFUNC_PAUSE when the window is empty, or
 * CURL_READFUNC_ABORT when the target failed (the push is cut).
 */
size_t window_read(struct job *j, char *dst, size_t want, size_t done);

/*
 * Runs from the loop, never inside a curl callback (j->kick): starts the
 * streamed push once the window opened, and resumes whichever transfer
 * waited for the other.
 */
void window_kick_cb(evutil_socket_t fd, short what, void *arg);

#endif
