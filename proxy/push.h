/*
 * One POST /push: the body is a serialized HTTP response (the scrape
 * result) that is parsed as it streams in and relayed to the waiting
 * scraper without being stored.  Back-pressure both ways: when the
 * scraper's queue passes LIMIT_RELAY_HIGH_WATER the push body is paused
 * until it drains.
 */
#ifndef PUSHPROX_PUSH_H
#define PUSHPROX_PUSH_H

struct httpreq;
struct proxy;
struct push;

/* Takes over a POST /push request; the push frees itself. */
void push_start(struct proxy *px, struct httpreq *req);

/* The scrape is gone: answer 410 at once; the connection then closes. */
void push_detach(struct push *p, const char *why);

#endif
