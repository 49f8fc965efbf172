/*
 * The push transfer of a job: POST <proxy>/push whose body is an HTTP
 * response, the target's (its head rewritten, then its body) or a job's
 * error; the proxy relays it to the scraper.
 */
#ifndef PUSHPROX_CLIENT_UPLOAD_H
#define PUSHPROX_CLIENT_UPLOAD_H

#include <stddef.h>

struct job;

/* Writes the head of an error answer (text body in j->body); 0 or -1. */
int upload_error_head(struct job *j, int status);

/*
 * The target answered with its whole body held: push its status, headers
 * and body, or a 502 saying why they cannot be relayed.
 */
void upload_relay(struct job *j);

/*
 * The window opened: relays the head and starts the streamed push.
 * Returns 0; or -1 with why set (nothing was pushed; the caller answers).
 */
int upload_stream(struct job *j, char *why, size_t whylen);

/* Sends j->push_head and the body to the proxy; closes j when done. */
void upload_start(struct job *j);

#endif
