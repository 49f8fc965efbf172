/*
 * sd_notify without libsystemd: the protocol is one datagram on an
 * AF_UNIX socket, documented as stable in sd_notify(3), and writing it
 * out is shorter than the dependency (and keeps the daemons runnable
 * where libsystemd is not installed).  A fresh socket per message, as
 * libsystemd does: notifications are rare (start, reload, stop, status,
 * watchdog) and nothing stays open across fork or a daemon's lifetime.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <inttypes.h>

#include "sdnotify.h"

/* Longest STATUS= text kept (systemd shows one line anyway). */
#define SDNOTIFY_STATUS_BYTES	512

int
sdnotify_send(const char *msg)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 plen, mlen = strlen(msg);
	socklen_t		 slen;
	ssize_t			 w;
	int			 fd, saved;

	if (path == NULL || *path == '\0')
		return 0;
	/* A path, or "@name" for Linux's abstract namespace. */
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen < 2 ||
	    plen > sizeof(sun.sun_path) - (path[0] == '/')) {
		errno = EAFNOSUPPORT;	/* e.g. vsock: (not for us) */
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract: no trailing NUL */
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/'));

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	w = sendto(fd, msg, mlen, MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sun, slen);
	saved = errno;
	close(fd);
	if (w != (ssize_t)mlen) {
		errno = w == -1 ? saved : EMSGSIZE;
		return -1;
	}
	return 1;
}

int
sdnotify_ready(void)
{
	return sdnotify_send("READY=1");
}

int
sdnotify_status(const char *fmt, ...)
{
	char	 msg[sizeof("STATUS=") + SDNOTIFY_STATUS_BYTES];
	va_list	 ap;
	char	*p;
	size_t	 off = sizeof("STATUS=") - 1;

	memcpy(msg, "STATUS=", off);
	va_start(ap, fmt);
	if (vsnprintf(msg + off, sizeof(msg) - off, fmt, ap) < 0)
		msg[off] = '\0';
	va_end(ap);
	/* A newline would start another assignment (READY=1, ...). */
	for (p = msg + off; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return sdnotify_send(msg);
}

int
sdnotify_reloading(void)
{
	char		 msg[64];
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return sdnotify_send("RELOADING=1");
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	return sdnotify_send(msg);
}

int
sdnotify_stopping(void)
{
	return sdnotify_send("STOPPING=1");
}

/* A decimal unsigned number, the whole string; -1 if not. */
static int
sdnotify_number_parse(const char *s, uint64_t *out)
{
	unsigned long long	 v;
	char			*end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return -1;
	*out = v;
	return 0;
}

uint64_t
sdnotify_watchdog_usec(void)
{
	const char	*pid = getenv("WATCHDOG_PID");
	uint64_t	 usec, p;

	if (sdnotify_number_parse(getenv("WATCHDOG_USEC"), &usec) == -1)
		return 0;
	/* Meant for another process (a parent that exec'd us): not ours. */
	if (pid != NULL && (sdnotify_number_parse(pid, &p) == -1 ||
	    p != (uint64_t)getpid()))
		return 0;
	return usec;
}

int
sdnotify_watchdog_ping(void)
{
	return sdnotify_send("WATCHDOG=1");
}
