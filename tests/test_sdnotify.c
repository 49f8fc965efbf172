/*
 * Unit tests for sd_notify (common/sdnotify.c) against a real AF_UNIX
 * datagram socket standing in for systemd's, bound to a file path and to
 * an abstract name ("@..."), as $NOTIFY_SOCKET names them.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

static int	 sdnotify_test_fd = -1;
static char	 sdnotify_test_dir[64];
static char	 sdnotify_test_env[128];

/* Binds a datagram socket to name (a path, or "@abstract"); sets the env. */
static void
sdnotify_test_listen(const char *name)
{
	struct sockaddr_un	 sun;
	size_t			 len = strlen(name);
	socklen_t		 slen;

	ck_assert_uint_lt(len, sizeof(sun.sun_path));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, len);
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		slen++;
	sdnotify_test_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sdnotify_test_fd, 0);
	ck_assert_int_eq(bind(sdnotify_test_fd, (struct sockaddr *)&sun,
	    slen), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
}

static void
sdnotify_test_setup(void)
{
	snprintf(sdnotify_test_dir, sizeof(sdnotify_test_dir), "%s",
	    "/tmp/pushprox-sdnotify.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sdnotify_test_dir));
	snprintf(sdnotify_test_env, sizeof(sdnotify_test_env), "%s/notify",
	    sdnotify_test_dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void
sdnotify_test_teardown(void)
{
	if (sdnotify_test_fd != -1)
		close(sdnotify_test_fd);
	sdnotify_test_fd = -1;
	unlink(sdnotify_test_env);
	rmdir(sdnotify_test_dir);
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram, as a string (the socket is bound; it is queued). */
static const char *
sdnotify_test_recv(void)
{
	static char	 buf[1024];
	ssize_t		 n;

	n = recv(sdnotify_test_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

START_TEST(test_sdnotify_no_socket)
{
	ck_assert_int_eq(sdnotify_ready(), 0);
	ck_assert_int_eq(sdnotify_status("x"), 0);
	ck_assert_int_eq(sdnotify_watchdog_ping(), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	ck_assert_int_eq(sdnotify_stopping(), 0);
}
END_TEST

START_TEST(test_sdnotify_path)
{
	sdnotify_test_listen(sdnotify_test_env);
	ck_assert_int_eq(sdnotify_ready(), 1);
	ck_assert_str_eq(sdnotify_test_recv(), "READY=1");
	ck_assert_int_eq(sdnotify_stopping(), 1);
	ck_assert_str_eq(sdnotify_test_recv(), "STOPPING=1");
	ck_assert_int_eq(sdnotify_watchdog_ping(), 1);
	ck_assert_str_eq(sdnotify_test_recv(), "WATCHDOG=1");
	/* The variable stays for the next notification. */
	ck_assert_str_eq(getenv("NOTIFY_SOCKET"), sdnotify_test_env);
}
END_TEST

START_TEST(test_sdnotify_abstract)
{
	char	 name[64];

	snprintf(name, sizeof(name), "@pushprox-test-%ld", (long)getpid());
	sdnotify_test_listen(name);
	ck_assert_int_eq(sdnotify_ready(), 1);
	ck_assert_str_eq(sdnotify_test_recv(), "READY=1");
}
END_TEST

START_TEST(test_sdnotify_status)
{
	const char	*m;

	sdnotify_test_listen(sdnotify_test_env);
	ck_assert_int_eq(sdnotify_status("%d clients, %d polls", 3, 5), 1);
	ck_assert_str_eq(sdnotify_test_recv(), "STATUS=3 clients, 5 polls");
	/* A newline cannot smuggle another assignment. */
	ck_assert_int_eq(sdnotify_status("a\nREADY=1\r"), 1);
	ck_assert_str_eq(sdnotify_test_recv(), "STATUS=a READY=1 ");
	/* Long text is cut, not dropped. */
	ck_assert_int_eq(sdnotify_status("%0900d", 0), 1);
	m = sdnotify_test_recv();
	ck_assert_int_eq(strncmp(m, "STATUS=000", 10), 0);
	ck_assert_uint_lt(strlen(m), 900);
}
END_TEST

START_TEST(test_sdnotify_reloading)
{
	const char	*m;
	char		*end;
	unsigned long long v;

	sdnotify_test_listen(sdnotify_test_env);
	ck_assert_int_eq(sdnotify_reloading(), 1);
	m = sdnotify_test_recv();
	ck_assert_msg(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0,
	    "%s", m);
	v = strtoull(m + 27, &end, 10);
	ck_assert_int_eq(*end, '\0');
	ck_assert_uint_gt(v, 0);
}
END_TEST

START_TEST(test_sdnotify_bad_socket)
{
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
	ck_assert_int_eq(sdnotify_ready(), -1);
	/* Nobody listening there. */
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", sdnotify_test_env, 1), 0);
	ck_assert_int_eq(sdnotify_ready(), -1);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "@", 1), 0);
	ck_assert_int_eq(sdnotify_ready(), -1);
}
END_TEST

START_TEST(test_sdnotify_watchdog)
{
	char	 pid[32];

	ck_assert_uint_eq(sdnotify_watchdog_usec(), 0);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "30000000", 1), 0);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 0);
	ck_assert_int_eq(unsetenv("WATCHDOG_PID"), 0);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "30s", 1), 0);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 0);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "-5", 1), 0);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}
END_TEST

Suite *
sdnotify_suite(void)
{
	Suite	*s = suite_create("sdnotify");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, sdnotify_test_setup,
	    sdnotify_test_teardown);
	tcase_add_test(tc, test_sdnotify_no_socket);
	tcase_add_test(tc, test_sdnotify_path);
	tcase_add_test(tc, test_sdnotify_abstract);
	tcase_add_test(tc, test_sdnotify_status);
	tcase_add_test(tc, test_sdnotify_reloading);
	tcase_add_test(tc, test_sdnotify_bad_socket);
	tcase_add_test(tc, test_sdnotify_watchdog);
	suite_add_tcase(s, tc);
	return s;
}
