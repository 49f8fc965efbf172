/*
 * The target transfer of a job: one curl GET per hop, its head kept, its
 * body capped at --scrape.max-size and handed to the window (window.c);
 * redirects vetted hop by hop (fetch_follow).
 */
#ifndef PUSHPROX_CLIENT_FETCH_H
#define PUSHPROX_CLIENT_FETCH_H

struct job;

/* Starts fetching j->url (FETCHING); a failure is answered by job_fail. */
void fetch_start(struct job *j);

#endif
