#!/usr/bin/python3
"""The proxy's life cycle (issue 12): the graceful drain on SIGTERM and the
notifications to systemd.  A scrape in flight when SIGTERM arrives (a slow
target behind the real client) is answered in full; /-/ready answers 503
during the drain while /-/healthy answers 200; a new scrape and a new poll
get 503; parked polls are answered 204 at once; the proxy exits 0 as soon
as nothing is in flight, or at --web.shutdown-timeout with a scrape that
never finishes; a second signal exits at once.  sd_notify is checked on a
real AF_UNIX datagram socket passed as NOTIFY_SOCKET: READY=1 only once the
port accepts, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM,
STATUS= lines, WATCHDOG=1 when WATCHDOG_USEC is set.
"""
import gzip
import os
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402

runner = t.Runner()

FQDN = "127.0.0.1"
SLOW_BODY = b"# slow target\nslow_metric 42\n" * 50


def signal_proxy(proxy, sig=signal.SIGTERM):
    """Sends sig; the test, not the runner, waits for the exit."""
    proxy.stopped_by_us = True
    os.kill(proxy.pid, sig)


def wait_exit(proxy, timeout):
    """Waits for the proxy to exit; returns (code, seconds waited)."""
    t0 = time.monotonic()
    try:
        code = proxy.proc.wait(timeout=timeout)
    except Exception:
        raise t.TestFailure("proxy still running %.1fs after SIGTERM; log:"
                            "\n%s" % (timeout, proxy.tail()))
    proxy.exit_code = code
    return code, time.monotonic() - t0


def get(port, path, method="GET"):
    return t.http_request(port, method, path, timeout=3.0)


@runner.test
def scrape_in_flight_finishes():
    target = t.TargetServer()
    target.route("/slow", t.Route(SLOW_BODY, delay=2.0))
    proxy = t.start_proxy("--web.shutdown-timeout=10s")
    t.start_client("http://127.0.0.1:%d/" % proxy.port, FQDN,
                   registered_at=proxy.port)
    hostport = "%s:%d" % (FQDN, target.port)
    slow = t.Background(t.scrape, proxy.port, hostport, "/slow")
    t.wait_for(lambda: target.requests_for("/slow"), 5.0,
               "the slow target reached by the client")
    t.check_eq(get(proxy.port, "/-/ready").status, 200, "ready before")
    t0 = time.monotonic()
    signal_proxy(proxy)
    t.wait_for(lambda: get(proxy.port, "/-/ready").status == 503, 2.0,
               "/-/ready 503 once draining")
    t.check_eq(get(proxy.port, "/-/healthy").status, 200,
               "/-/healthy while draining")
    t.check_eq(get(proxy.port, "/-/ready", "HEAD").status, 503,
               "HEAD /-/ready while draining")
    resp, _ = t.scrape(proxy.port, hostport, "/slow", io_timeout=5.0)
    t.check_eq(resp.status, 503, "a new scrape while draining")
    t.check(b"shutting down" in resp.body, "503 says why: %r" % resp.body)
    poll = t.RawPoll(proxy.port, "late.example")
    t.check_eq(poll.answer(timeout=3.0).status, 503, "a new poll")
    poll.close()
    resp, _ = slow.result(10.0)
    t.check_eq(resp.status, 200, "the scrape in flight")
    body = resp.body
    if (resp.header("Content-Encoding") or "").lower() == "gzip":
        body = gzip.decompress(body)   # the client compressed its push
    t.check_eq(body, SLOW_BODY, "its body, whole")
    code, _ = wait_exit(proxy, 10.0)
    took = time.monotonic() - t0
    t.check_eq(code, 0, "exit code after the drain")
    t.check(took < 6.0, "exited when the scrape was done (%.1fs)" % took)
    t.check("listener closed" in proxy.log_text(), "drain logged")
    target.close()


@runner.test
def parked_polls_answered_204():
    proxy = t.start_proxy("--web.shutdown-timeout=5s",
                          "--poll.timeout=60s")
    polls = [t.RawPoll(proxy.port, "idle%d.example" % i) for i in range(3)]
    for i in range(3):
        t.wait_registered(proxy.port, "idle%d.example" % i)
    t0 = time.monotonic()
    signal_proxy(proxy)
    for p in polls:
        t.check_eq(p.answer(timeout=3.0).status, 204, "a parked poll")
        p.close()
    t.check(time.monotonic() - t0 < 2.0, "answered at once")
    code, took = wait_exit(proxy, 5.0)
    t.check_eq(code, 0, "exit code")


def stuck_scrape(proxy):
    """A scrape handed to a raw poll that never pushes."""
    poll = t.RawPoll(proxy.port, "stuck.example")
    t.wait_registered(proxy.port, "stuck.example")
    bg = t.Background(t.scrape, proxy.port, "stuck.example:9100",
                      "/metrics", 60, None, 40.0)
    t.check_eq(poll.answer(timeout=5.0).status, 200, "poll got the scrape")
    return poll, bg


@runner.test
def stuck_scrape_exits_at_shutdown_timeout():
    proxy = t.start_proxy("--web.shutdown-timeout=2s",
                          "--scrape.max-timeout=1m")
    poll, bg = stuck_scrape(proxy)
    t0 = time.monotonic()
    signal_proxy(proxy)
    code, _ = wait_exit(proxy, 8.0)
    took = time.monotonic() - t0
    t.check_eq(code, 0, "exit code at the shutdown timeout")
    t.check(1.8 <= took < 4.0, "exit at --web.shutdown-timeout (%.1fs)" %
            took)
    t.check("shutdown timeout reached" in proxy.log_text(),
            "the cut is logged")
    try:
        bg.result(5.0)
    except Exception:
        pass    # the scrape's connection is cut: that is the point
    poll.close()


@runner.test
def second_signal_exits_at_once():
    proxy = t.start_proxy("--web.shutdown-timeout=30s",
                          "--scrape.max-timeout=1m")
    poll, bg = stuck_scrape(proxy)
    signal_proxy(proxy)
    t.wait_for(lambda: get(proxy.port, "/-/ready").status == 503, 2.0,
               "draining")
    t0 = time.monotonic()
    signal_proxy(proxy, signal.SIGINT)
    code, _ = wait_exit(proxy, 5.0)
    t.check_eq(code, 0, "exit code after a second signal")
    t.check(time.monotonic() - t0 < 1.5, "exited at once")
    try:
        bg.result(5.0)
    except Exception:
        pass
    poll.close()


class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pptest-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got = []

    def wait(self, key, timeout=5.0):
        """Reads datagrams until one holds the line key; returns it."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.got.append(msg)
            if key in msg.split("\n"):
                return msg
        raise t.TestFailure("no %s within %.0fs; got %r" % (key, timeout,
                                                            self.got))

    def wait_prefix(self, prefix, timeout=5.0):
        """The first datagram (seen or next) starting with prefix."""
        for m in self.got:
            if m.startswith(prefix):
                return m
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.got.append(msg)
            if msg.startswith(prefix):
                return msg
        raise t.TestFailure("no %s... within %.0fs; got %r" % (
            prefix, timeout, self.got))

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def start_notified_proxy(notify, *extra, env=None):
    """Starts the proxy with NOTIFY_SOCKET (and env) in its environment."""
    saved = dict(os.environ)
    os.environ["NOTIFY_SOCKET"] = notify.path
    os.environ.update(env or {})
    try:
        return t.start_proxy(*extra)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@runner.test
def sdnotify_ready_reload_stopping():
    notify = NotifySocket()
    port = t.free_port()
    saved = dict(os.environ)
    os.environ["NOTIFY_SOCKET"] = notify.path
    try:
        proc = t.start_daemon(
            "proxy", lambda ports: [t.PROXY, "--web.listen-address="
                                    "127.0.0.1:%d" % ports[0]],
            lambda d: True, ports=[port])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    notify.wait("READY=1")
    # READY=1 means the port accepts now, not later.
    socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    status = notify.wait_prefix("STATUS=")
    t.check("0 clients" in status, "STATUS= counts clients: %r" % status)
    os.kill(proc.pid, signal.SIGHUP)
    notify.wait("RELOADING=1")
    notify.wait("READY=1")
    signal_proxy(proc)
    notify.wait("STOPPING=1")
    code, _ = wait_exit(proc, 5.0)
    t.check_eq(code, 0, "exit code")
    notify.close()


@runner.test
def sdnotify_watchdog_pings():
    notify = NotifySocket()
    proxy = start_notified_proxy(notify, env={"WATCHDOG_USEC": "400000"})
    notify.wait("READY=1")
    notify.wait("WATCHDOG=1", timeout=2.0)
    notify.wait("WATCHDOG=1", timeout=2.0)
    t.check(any("clients" in m for m in notify.got if "STATUS=" in m),
            "STATUS= names clients: %r" % notify.got)
    proxy.stop()
    notify.close()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
