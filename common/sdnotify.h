/*
 * systemd's service notification protocol (sd_notify(3)), written out
 * rather than linked from libsystemd: one datagram of "KEY=VALUE" lines
 * to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for
 * the abstract namespace).  Without $NOTIFY_SOCKET (not started by systemd
 * as Type=notify) every call does nothing and returns 0, so the daemons
 * call these unconditionally.  Sends never block (MSG_DONTWAIT): a
 * notification that cannot go at once is dropped and reported as -1.
 */
#ifndef PUSHPROX_SDNOTIFY_H
#define PUSHPROX_SDNOTIFY_H

#include <stdint.h>

/*
 * Sends msg (newline-separated assignments) as it is: 1 sent, 0 no
 * $NOTIFY_SOCKET, -1 failed (errno set).
 */
int sdnotify_send(const char *msg);

/* Start-up is done (listening): READY=1. */
int sdnotify_ready(void);

/* A free-form status line for `systemctl status`; newlines become spaces. */
int sdnotify_status(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * A reload (SIGHUP) begins: RELOADING=1 with MONOTONIC_USEC=, which
 * systemd 253+ needs for Type=notify-reload and 252 ignores.  Follow with
 * sdnotify_ready() when the reload is done, whatever its outcome.
 */
int sdnotify_reloading(void);

/* Shutdown begins (SIGTERM): STOPPING=1. */
int sdnotify_stopping(void);

/*
 * The watchdog interval systemd asks for (WatchdogSec=), in microseconds:
 * $WATCHDOG_USEC when $WATCHDOG_PID is unset or this process; 0 when off.
 * Ping at half of it.
 */
uint64_t sdnotify_watchdog_usec(void);

/* The event loop is alive: WATCHDOG=1. */
int sdnotify_watchdog_ping(void);

#endif
