/*
 * Listening TCP sockets for the daemons' HTTP servers.  Addresses are
 * written as Prometheus tools write them: "host:port", ":port" (every
 * address, one dual-stack socket) or "[v6]:port".  Accepted sockets get
 * TCP_NODELAY and TCP keepalive (dead peers are found even when silent),
 * and when accept fails for lack of descriptors the listener pauses for
 * LIMIT_ACCEPT_PAUSE_MS instead of spinning on a full accept queue.
 */
#ifndef PUSHPROX_LISTENER_H
#define PUSHPROX_LISTENER_H

#include <stddef.h>

#include <event2/util.h>

struct event_base;
struct listener;

/* A new connection: fd (now the callee's) and its peer as "ip:port". */
typedef void (*listener_accept_cb)(evutil_socket_t fd, const char *peer,
    void *arg);

/*
 * Binds and listens on addr; port 0 picks a free port.  Returns the
 * listener (caller frees with listener_free), or NULL after logging what
 * failed and why.
 */
struct listener *listener_new(struct event_base *base, const char *addr,
    listener_accept_cb cb, void *arg);

/* Closes the socket. NULL is a no-op. */
void listener_free(struct listener *l);

/* The bound port. */
int listener_port(const struct listener *l);

/*
 * Splits "host:port", ":port" or "[v6]:port" (host "" means every
 * address).  Returns 0, or -1 if the form or the port is invalid.
 */
int listener_split_addr(const char *addr, char *host, size_t hostlen,
    char *port, size_t portlen);

#endif
