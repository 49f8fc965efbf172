/*
 * One scrape, from the proxy's request to our push of the result: fetch
 * the target (SCRAPING), push its response or the error as an HTTP
 * response to <proxy>/push (PUSHING), then free (DONE).  Scrapes live in
 * the client's list so that shutdown can cancel them.
 */
#ifndef PUSHPROX_CLIENT_SCRAPE_H
#define PUSHPROX_CLIENT_SCRAPE_H

struct client;
struct scrape;
struct scrapereq;

/*
 * Starts a scrape; takes ownership of req (which must have an id).  A
 * request with an error, or one over --scrape.max-concurrency, is answered
 * at once with a 500 or 503 push.  Never fails: problems become pushes or
 * logs.
 */
void scrape_start(struct client *c, struct scrapereq *req);

/* Cancels any transfer, frees s and logs why (at debug). */
void scrape_close(struct scrape *s, const char *reason);

#endif
