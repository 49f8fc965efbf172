#!/usr/bin/python3
"""Fault injection: the real pushprox-proxy and pushprox-client on
127.0.0.1 under the faults a deployment meets (middleboxes cutting polls,
clients and proxies killed or frozen, targets refusing, hanging or huge,
scrapers hanging up, duplicate and late pushes, every limit hit, dead
polls).  Each test checks what the scraper receives and that the daemons
serve a normal scrape afterwards.

Run: PUSHPROX_PROXY=... PUSHPROX_CLIENT=... python3 tests/test_faults.py
[test names...]   (meson test -C build integration sets these)
"""

import os
import random
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402
# The generic helpers (raw polls and pushes, streamed and mass scrapes,
# the middlebox, big bodies, threads, metric waits) live in tests/pptest/.
from pptest import (BIG_BLOCK, Middlebox, RawPoll,  # noqa: E402
                    big_digest, chunked_writer, in_thread, mass_scrape,
                    push_message, stream_scrape, streaming_writer,
                    wait_metric)
from pptest import join_thread as join  # noqa: E402
from pptest import post_push as push  # noqa: E402

FQDN = "localhost"
METRICS_BODY = (b"# HELP fault_metric A metric for the fault tests.\n"
                b"# TYPE fault_metric gauge\n"
                b"fault_metric{label=\"a\"} 1\n")

MiB = 1024 * 1024
BIG_BLOCKS = 100                      # 100 MiB streamed body
MID_BLOCKS = 20                       # 20 MiB body for the mid-relay cut
HANG_S = 8.0                          # how long /hang makes a scrape wait

runner = t.Runner()
_env = {}


# ------------------------------------------------------------- target ---

def echo_body(path):
    return b"# path " + path.encode() + b"\nup 1\n"


def target():
    if "target" not in _env:
        tg = t.TargetServer(backlog=2048)
        tg.route("/metrics", t.Route(METRICS_BODY))
        tg.route("/echo", t.Route(lambda h: echo_body(h.path)))
        tg.route("/echo_slow", t.Route(lambda h: echo_body(h.path),
                                       delay=0.2))
        tg.route("/hang", t.Route(METRICS_BODY, delay=HANG_S))
        tg.route("/slow", t.Route(METRICS_BODY, delay=1.5))
        tg.route("/big", t.Route(writer=streaming_writer(BIG_BLOCKS)))
        tg.route("/mid", t.Route(writer=streaming_writer(MID_BLOCKS)))
        tg.route("/bigchunked", t.Route(writer=chunked_writer(BIG_BLOCKS)))
        _env["target"] = tg
    return _env["target"]


def hostport(port=None):
    return "%s:%d" % (FQDN, port or target().port)


def proxy_url(port):
    return "http://127.0.0.1:%d/" % port


def start_pair(proxy_args=(), client_args=(), name=""):
    """A proxy and a client registered as FQDN, for one test."""
    target()
    proxy = t.start_proxy(*proxy_args, name="proxy" + name)
    client = t.start_client(proxy_url(proxy.port), FQDN, *client_args,
                            name="client" + name, registered_at=proxy.port)
    return proxy, client


def main_pair():
    """The shared proxy and client of the lighter tests."""
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "main" not in _env:
        try:
            # Identity pushes: these faults count and cut relayed bytes
            # (gzip pushes are tested in test_push_gzip.py).
            _env["main"] = start_pair(client_args=("--push.compression=none",),
                                      name="-main")
        except Exception as e:
            _env["error"] = str(e)
            raise
    return _env["main"]


def check_normal_scrape(proxy_port, what="after the fault", timeout_s=5,
                        attempts=1):
    """A normal scrape through the proxy returns the target's body."""
    last = None
    for _ in range(attempts):
        resp, took = t.scrape(proxy_port, hostport(), "/metrics",
                              timeout_s=timeout_s, io_timeout=timeout_s + 5)
        if resp.status == 200 and resp.body == METRICS_BODY:
            return took
        last = resp
    raise t.TestFailure("normal scrape %s failed: %r" % (what, last))


def pm(port, name, **labels):
    return t.metric_value(port, name, **labels)




def client_metric(client, name):
    return t.metric_value(client.port, name)


# ================================================================ tests ===

@runner.test
def middlebox_cuts_idle_poll_with_html_504():
    # The proxy holds polls 5s, the middlebox cuts after 1s of silence:
    # every poll is cut with an HTML 504.  The client must count a poll
    # error, not treat the page as a scrape, and keep serving scrapes.
    proxy = t.start_proxy("--poll.timeout=5s", name="proxy-mbox")
    box = Middlebox(proxy.port, 1.0)
    try:
        client = t.start_client(box.url, FQDN, name="client-mbox",
                                registered_at=proxy.port)
        t.wait_for(lambda: client_metric(
            client, "pushprox_client_poll_errors_total") >= 2, 6,
            "two poll errors (middlebox cuts)")
        t.check(box.pages >= 2, "middlebox sent %d HTML pages" % box.pages)
        t.check_eq(client_metric(client, "pushprox_client_scrapes_total"),
                   0, "scrape requests the client saw")
        t.check_eq(pm(proxy.port, "pushprox_pushes_total"), 0,
                   "pushes the proxy got (bogus pushes)")
        t.check(client.alive(), "client died")
        e1 = client_metric(client, "pushprox_client_poll_errors_total")
        log = client.log_text()
        e2 = client_metric(client, "pushprox_client_poll_errors_total")
        t.check(re.search(r'level=warn msg="poll failed".*status=504.*'
                          r'content_type=text/html', log),
                "no warn line naming the 504 text/html answer in the "
                "client log:\n%s" % client.tail(10))
        warns = len(re.findall(r'level=warn msg="poll failed"', log))
        t.check(e1 <= warns <= e2, "%d 'poll failed' warn lines for %g..%g "
                "poll errors: want one per failed poll" % (warns, e1, e2))
        # Scrapes through the middlebox still work (the poll in place
        # when a scrape arrives is less than 1s old).
        # (A scrape handed to a poll in the very instant the middlebox
        # cuts it is lost with the poll; so two attempts each.)
        for i in range(3):
            check_normal_scrape(proxy.port, "through the middlebox (%d)" % i,
                                timeout_s=3, attempts=2)
        t.check_eq(pm(proxy.port, "pushprox_pushes_total",
                      outcome="relayed"),
                   pm(proxy.port, "pushprox_pushes_total"),
                   "pushes relayed, of all pushes (none bogus)")
        t.check_eq(client_metric(client, "pushprox_client_scrapes_total"),
                   pm(proxy.port, "pushprox_polls_total", outcome="scrape"),
                   "scrape requests the client saw, of those the proxy "
                   "handed out")
    finally:
        box.close()

    # With --poll.timeout below the middlebox's idle limit the proxy
    # answers 204 first and no poll is ever cut.
    proxy2 = t.start_proxy("--poll.timeout=400ms", name="proxy-mbox-ok")
    box2 = Middlebox(proxy2.port, 1.0)
    try:
        client2 = t.start_client(box2.url, FQDN, name="client-mbox-ok",
                                 registered_at=proxy2.port)
        time.sleep(3.0)
        t.check_eq(client_metric(client2,
                                 "pushprox_client_poll_errors_total"), 0,
                   "poll errors with --poll.timeout below the idle limit")
        t.check_eq(box2.pages, 0, "middlebox 504 pages")
        t.check(pm(proxy2.port, "pushprox_polls_total", outcome="no_work")
                >= 4, "idle polls answered 204")
        check_normal_scrape(proxy2.port, "through the quiet middlebox")
        t.check_eq(client_metric(client2,
                                 "pushprox_client_poll_errors_total"), 0,
                   "poll errors after the scrape")
    finally:
        box2.close()
        proxy2.stop()
        proxy.stop()


@runner.test
def captive_portal_200_html_is_not_a_scrape():
    # A middlebox answering 200 with an HTML page (or any 200 whose body is
    # no scrape request) is a failed poll, never a scrape.
    tg = target()
    tg.clear()
    html = (b"<html><body>Please log in to continue: "
            b"GET http://%s/metrics HTTP/1.1</body></html>\n" % (
                hostport().encode()))
    fake = t.FakeProxy([(200, html, [("Content-Type", "text/html")]),
                        (200, b"GET /metrics\r\nnot a request\r\n\r\n",
                         [("Content-Type", "text/plain")]),
                        (200, b"", []),
                        (200, b"GET http://%s/metrics HTTP/1.1\r\nId: 1\r\n"
                         b"X-Pad: %s\r\n\r\n" % (hostport().encode(),
                                                  b"p" * 70000), [])],
                       hold=3)
    client = t.start_client(fake.url, FQDN, name="client-portal")
    try:
        fake.wait(lambda: len(fake.polls) >= 5, 5, "five polls")
        t.check_eq(client_metric(client, "pushprox_client_poll_errors_total"),
                   4, "poll errors")
        t.check_eq(client_metric(client, "pushprox_client_scrapes_total"), 0,
                   "scrapes the client started")
        t.check(not fake.pushes, "the client pushed %r" % fake.pushes[:1])
        t.check(not tg.requests, "the target was scraped")
    finally:
        t.check_eq(client.stop(), 0, "client exit code on SIGTERM")
        fake.close()
    check_normal_scrape(main_pair()[0].port)


@runner.test
def keepalive_connections_survive_errors():
    # Prometheus keeps its connection to the proxy, and the client its
    # push connection: a failed scrape or a refused push must not cost
    # the connection.
    proxy, _ = main_pair()
    sock = t.connect(proxy.port)
    try:
        cases = [("nobody.invalid:9100", "/metrics", 502),
                 (hostport(t.free_port()), "/metrics", 500),
                 (hostport(), "/hang?ka=1", (500, 504)),
                 (hostport(), "/metrics", 200)]
        for hp, path, want in cases:
            req = t.scrape_request_bytes(hp, path, 1, connection_close=False)
            r = t.raw_exchange(proxy.port, req, sock=sock, timeout=5)
            t.check(r.status in (want if isinstance(want, tuple)
                                 else (want,)),
                    "scrape of %s%s on a kept connection: %r" % (hp, path,
                                                                  r))
    finally:
        sock.close()
    s = t.connect(proxy.port)
    try:
        # A push for an unknown id is answered once its body is read,
        # and the connection stays usable.
        msg = push_message("11111111-1111-4111-8111-111111111111",
                           b"x" * 1000)
        s.sendall(b"POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: %d"
                  b"\r\n\r\n" % len(msg) + msg[:500])
        s.settimeout(0.3)
        try:
            early = s.recv(100)
        except socket.timeout:
            early = None
        t.check(early is None, "answered before the push body was read: %r"
                % early)
        s.sendall(msg[500:])
        r = t.read_response(t._Reader(s, time.monotonic() + 3))
        t.check_eq(r.status, 404, "push for an unknown id")
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        r = t.read_response(t._Reader(s, time.monotonic() + 3))
        t.check_eq(r.status, 200, "request after the 404 on that connection")
    finally:
        s.close()
    check_normal_scrape(proxy.port)


@runner.test
def client_sigkill_mid_scrape():
    proxy, client = start_pair(name="-kill")
    tg = target()
    th, out = in_thread(t.scrape, proxy.port, hostport(), "/hang?kill=1",
                        timeout_s=3, io_timeout=10)
    t.wait_for(lambda: tg.requests_for("/hang") and any(
        "kill=1" in r.target for r in tg.requests_for("/hang")), 3,
        "the client to be scraping /hang")
    client.kill(signal.SIGKILL)
    resp, took = join(th, out, 10, "scrape of the killed client")
    t.check(500 <= resp.status < 600, "status %d, want 5xx (body %r)" % (
        resp.status, resp.body))
    t.check(took < 3.6, "answer took %.2fs with a 3s scrape timeout" % took)
    # The killed client's parked poll is gone with it.
    wait_metric(proxy.port, "pushprox_polls_waiting", 0, 2, op="eq")
    t.check(pm(proxy.port, "pushprox_polls_total", outcome="gone") >= 1,
            "the dead client's poll was not counted gone")
    t.check_eq(t.http_request(proxy.port, "GET", "/clients").status, 200,
               "/clients after the kill")
    # A restarted client is scraped at its first poll.
    client2 = t.start_client(proxy_url(proxy.port), FQDN,
                             name="client-kill-2")
    took = check_normal_scrape(proxy.port, "by the restarted client")
    t.check(took < 2.0, "first scrape of the restarted client took %.2fs"
            % took)

    # Killed while pushing: a 100 MiB body relayed to a scraper that reads
    # slowly; the scraper's connection is cut as soon as the push breaks.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", proxy.port))
    try:
        bytes0 = pm(proxy.port, "pushprox_relayed_bytes_total")
        sock.sendall(t.scrape_request_bytes(hostport(), "/big?kill=2", 30))
        t.wait_for(lambda: pm(proxy.port, "pushprox_relayed_bytes_total")
                   > bytes0 + MiB, 10, "the relay to start")
        time.sleep(0.2)
        client2.kill(signal.SIGKILL)
        t0 = time.monotonic()
        got = 0
        cut = False
        sock.settimeout(0.5)
        # (What the dead client had sent before it died still arrives.)
        for _ in range(1 << 20):
            if time.monotonic() - t0 > 5:
                break
            try:
                data = sock.recv(1 << 16)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                cut = True
                break
            got += len(data)
        took = time.monotonic() - t0
    finally:
        sock.close()
    t.check(cut and took < 2.0, "scraper still connected %.2fs after its "
            "client died mid-push (30s scrape timeout)" % took)
    t.check(got < BIG_BLOCKS * BIG_BLOCK, "the whole body arrived")
    wait_metric(proxy.port, "pushprox_scrapes_total", 1, 2,
                labels={"outcome": "relay_failed"})
    t.start_client(proxy_url(proxy.port), FQDN, name="client-kill-3")
    check_normal_scrape(proxy.port, "by the client restarted again")
    proxy.stop()


@runner.test
def proxy_sigstop_client_polls_again_at_its_deadline():
    # A frozen proxy (or a silent network) holds the client's poll: the
    # client gives up at --proxy.poll-timeout and polls again, without
    # counting an error; once the proxy runs again, the abandoned polls
    # are gone and scrapes work.
    proxy, client = start_pair(client_args=["--proxy.poll-timeout=1s"],
                               name="-frozen")
    wait_metric(proxy.port, "pushprox_polls_waiting", 1, 2)
    proxy.kill(signal.SIGSTOP)
    try:
        t.wait_for(lambda: client_metric(
            client, "pushprox_client_polls_total") >= 4, 6,
            "the client to poll again three times")
    finally:
        proxy.kill(signal.SIGCONT)
    wait_metric(proxy.port, "pushprox_polls_total", 3, 3,
                labels={"outcome": "gone"})
    t.check_eq(pm(proxy.port, "pushprox_polls_waiting"), 1,
               "polls waiting after the thaw")
    t.check_eq(client_metric(client, "pushprox_client_poll_errors_total"),
               0, "poll errors")
    for i in range(3):
        check_normal_scrape(proxy.port, "after the proxy thawed (%d)" % i)
    proxy.stop()
    client.stop()


@runner.test
def client_sigstop_scrapes_504_then_recover():
    proxy, client = start_pair(name="-stop")
    wait_metric(proxy.port, "pushprox_polls_waiting", 1, 2)
    client.kill(signal.SIGSTOP)
    try:
        for i in range(2):
            resp, took = t.scrape(proxy.port, hostport(), "/metrics",
                                  timeout_s=1.5, io_timeout=6)
            t.check_eq(resp.status, 504, "status of scrape %d of a frozen "
                       "client (body %r)" % (i, resp.body))
            t.check("timed out" in resp.text(), "504 body: %r" % resp.body)
            t.check(1.3 < took < 2.3, "scrape %d answered after %.2fs with a "
                    "1.5s timeout" % (i, took))
        t.check(proxy.alive(), "proxy died")
    finally:
        client.kill(signal.SIGCONT)
    # The thawed client pushes its stale result (refused) and polls on.
    check_normal_scrape(proxy.port, "after SIGCONT", timeout_s=5)
    wait_metric(proxy.port, "pushprox_pushes_total", 1, 3,
                labels={"outcome": "unknown_id"})
    check_normal_scrape(proxy.port, "after SIGCONT (again)")
    proxy.stop()
    client.stop()


@runner.test
def proxy_sigkill_and_restart_same_port():
    max_wait = 2.0
    proxy, client = start_pair(
        client_args=["--proxy.retry.max-wait=%gs" % max_wait],
        name="-restart")
    check_normal_scrape(proxy.port, "before the proxy is killed")
    port = proxy.port
    proxy.kill(signal.SIGKILL)
    polls0 = client_metric(client, "pushprox_client_polls_total")
    # Let the client fail a few polls and grow its back-off.
    t.wait_for(lambda: client_metric(
        client, "pushprox_client_poll_errors_total") >= 3, 5,
        "three failed polls while the proxy is down")
    time.sleep(max_wait)
    t0 = time.monotonic()
    proxy2 = t.start_proxy(name="proxy-restart-2", port=port)
    t.wait_for(lambda: FQDN in t.client_fqdns(port, timeout=1.0),
               max_wait + 2.0, "the client to re-register within max-wait "
               "+ 2s", interval=0.02)
    took = time.monotonic() - t0
    # Back-off, not a busy loop, while the proxy was down.
    polls = client_metric(client, "pushprox_client_polls_total") - polls0
    t.check(polls < 15, "%d polls in ~%.0fs while the proxy was down" % (
        polls, max_wait + 1))
    t.check(client.alive(), "client died while the proxy was down")
    check_normal_scrape(port, "after the proxy restart")
    print("     re-registered %.2fs after the restart began" % took)
    proxy2.stop()
    client.stop()


@runner.test
def target_refusing_connections_500_names_url():
    proxy, _ = main_pair()
    port = t.free_port()
    resp, took = t.scrape(proxy.port, hostport(port), "/metrics?x=1")
    t.check_eq(resp.status, 500, "status (body %r)" % resp.body)
    url = "http://%s/metrics" % hostport(port)
    t.check(url in resp.text(), "body should name %s: %r" % (url, resp.body))
    t.check(took < 3, "took %.2fs" % took)
    check_normal_scrape(proxy.port)


@runner.test
def target_hanging_past_scrape_timeout():
    proxy, _ = main_pair()
    resp, took = t.scrape(proxy.port, hostport(), "/hang?to=1", timeout_s=1,
                          io_timeout=6)
    t.check(resp.status in (500, 504), "status %d (body %r)" % (resp.status,
                                                              resp.body))
    t.check("timed out" in resp.text(), "body should say timed out: %r"
            % resp.body)
    t.check(took < 2.0, "answer after %.2fs with a 1s timeout" % took)
    check_normal_scrape(proxy.port)


@runner.test
def target_100mb_body_streamed_and_size_limit():
    # Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
    # default), which would hide whether the relay is bounded: shrink it.
    saved = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = ((saved + ":") if saved else "") + \
        "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
    try:
        proxy, client = start_pair(client_args=("--push.compression=none",),
                                   name="-big")
    finally:
        if saved is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = saved
    asan = t.is_sanitized(proxy.pid)
    hwm_limit = (48 if asan else 32) * MiB
    want_len = BIG_BLOCKS * BIG_BLOCK
    want_sha = big_digest(BIG_BLOCKS)
    hwm0 = t.proc_status(proxy.pid)["VmHWM"]
    status, headers, n, sha, first, took = stream_scrape(
        proxy.port, hostport(), "/big", timeout_s=60, io_timeout=70)
    hwm = t.proc_status(proxy.pid)["VmHWM"]
    t.check_eq(status, 200, "status (first bytes %r)" % first[:200])
    t.check_eq(n, want_len, "body bytes")
    t.check_eq(sha, want_sha, "body sha256")
    print("     100 MiB relayed in %.1fs; proxy VmHWM %.1f MiB (%.1f MiB "
          "before)%s; client VmHWM %.1f MiB" % (
              took, hwm / MiB, hwm0 / MiB, " (ASan)" if asan else "",
              t.proc_status(client.pid)["VmHWM"] / MiB))
    t.check(hwm < hwm_limit, "proxy VmHWM %.1f MiB relaying a 100 MiB body "
            "(limit %d MiB)" % (hwm / MiB, hwm_limit // MiB))
    t.check(pm(proxy.port, "pushprox_relayed_bytes_total") >= want_len,
            "relayed bytes metric")
    # The same body chunked (no length known up front).
    status, headers, n, sha, first, took = stream_scrape(
        proxy.port, hostport(), "/bigchunked", timeout_s=60, io_timeout=70)
    t.check_eq((status, n, sha), (200, want_len, want_sha),
               "status, bytes and sha256 of the chunked body")
    hwm = t.proc_status(proxy.pid)["VmHWM"]
    t.check(hwm < hwm_limit, "proxy VmHWM %.1f MiB after relaying a chunked "
            "100 MiB body" % (hwm / MiB))
    # With --scrape.max-size=10MiB the client refuses the body.
    client.stop()
    client2 = t.start_client(proxy_url(proxy.port), FQDN,
                             "--scrape.max-size=10MiB", name="client-big-2")
    # Chunked, the client only finds out mid-body: the scraper must not
    # get a complete answer (a 500 naming the limit, or a cut relay).
    try:
        status, headers, n, sha, first, took = stream_scrape(
            proxy.port, hostport(), "/bigchunked", timeout_s=30,
            io_timeout=35)
    except (ConnectionError, ValueError, OSError):
        pass    # cut: right
    else:
        t.check(status == 500 and b"scrape.max-size" in first,
                "a body over --scrape.max-size answered %d with %d bytes "
                "(%r...)" % (status, n, first[:100]))
    check_normal_scrape(proxy.port, "after a chunked body over the limit")
    # With a Content-Length over the limit the client knows before it
    # pushes anything: the scraper gets a 500 naming the limit.
    try:
        resp, took = t.scrape(proxy.port, hostport(), "/big", timeout_s=30,
                              io_timeout=35)
    except ConnectionError as e:
        raise t.TestFailure(
            "target body with Content-Length 100MiB over the client's "
            "--scrape.max-size=10MiB: the scraper got a 200 head and then "
            "a cut connection (%s), want a 500 naming --scrape.max-size"
            % e)
    t.check_eq(resp.status, 500, "status over --scrape.max-size (body %r)"
               % resp.body[:300])
    t.check("scrape.max-size" in resp.text(),
            "body should name the limit: %r" % resp.body[:300])
    check_normal_scrape(proxy.port)
    t.check(client2.alive(), "client died")
    proxy.stop()
    client2.stop()


@runner.test
def scraper_disconnects_mid_scrape():
    proxy, client = main_pair()
    tg = target()
    gone0 = pm(proxy.port, "pushprox_scrapes_total", outcome="scraper_gone")
    pushes0 = (pm(proxy.port, "pushprox_pushes_total", outcome="unknown_id")
               + pm(proxy.port, "pushprox_pushes_total",
                    outcome="discarded"))
    relayed0 = pm(proxy.port, "pushprox_pushes_total", outcome="relayed")
    # 1. Before the push: the target is still answering (1.5s).
    sock = t.connect(proxy.port)
    sock.sendall(t.scrape_request_bytes(hostport(), "/slow?gone=1", 10))
    t.wait_for(lambda: any("gone=1" in r.target
                           for r in tg.requests_for("/slow")), 3,
               "the target to see the scrape")
    sock.close()
    wait_metric(proxy.port, "pushprox_scrapes_total", gone0 + 1, 2,
                labels={"outcome": "scraper_gone"})
    # The client's push (after 1.5s) is refused, not relayed anywhere.
    wait_metric(proxy.port, "pushprox_pushes_total", pushes0 + 1, 5,
                labels={"outcome": "unknown_id"})
    t.check_eq(pm(proxy.port, "pushprox_pushes_total", outcome="relayed"),
               relayed0, "relayed pushes")
    check_normal_scrape(proxy.port, "after a scraper hung up before the "
                        "push")

    # 2. During the relay: a 20 MiB body, a scraper that does not read,
    # then hangs up while the push is being relayed.
    disc0 = pm(proxy.port, "pushprox_pushes_total", outcome="discarded")
    perr0 = client_metric(client, "pushprox_client_push_errors_total")
    bytes0 = pm(proxy.port, "pushprox_relayed_bytes_total")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", proxy.port))
    sock.sendall(t.scrape_request_bytes(hostport(), "/mid", 20))
    t.wait_for(lambda: pm(proxy.port, "pushprox_relayed_bytes_total")
               > bytes0, 10, "the relay to start")
    time.sleep(0.2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    b"\x01\x00\x00\x00\x00\x00\x00\x00")   # RST on close
    sock.close()
    wait_metric(proxy.port, "pushprox_scrapes_total", gone0 + 2, 3,
                labels={"outcome": "scraper_gone"})
    wait_metric(proxy.port, "pushprox_pushes_total", disc0 + 1, 10,
                labels={"outcome": "discarded"})
    t.wait_for(lambda: client_metric(
        client, "pushprox_client_push_errors_total") > perr0, 5,
        "the client to count the discarded (410) push")
    relayed = pm(proxy.port, "pushprox_relayed_bytes_total") - bytes0
    t.check(relayed < MID_BLOCKS * BIG_BLOCK,
            "the whole body was relayed (%d bytes) to a gone scraper"
            % relayed)
    t.check(re.search(r'msg="push refused".*status="?Gone',
                      proxy.log_text()), "no 410 push refusal in the proxy "
            "log")
    check_normal_scrape(proxy.port, "after a scraper hung up mid-relay")

    # 3. A scraper that never reads: the relay stalls, and at the scrape
    # deadline the proxy cuts the scraper and discards the push.
    disc0 = pm(proxy.port, "pushprox_pushes_total", outcome="discarded")
    rt0 = pm(proxy.port, "pushprox_scrapes_total", outcome="relay_timeout")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", proxy.port))
    try:
        t0 = time.monotonic()
        sock.sendall(t.scrape_request_bytes(hostport(), "/mid?stall=1", 2))
        wait_metric(proxy.port, "pushprox_scrapes_total", rt0 + 1, 4,
                    labels={"outcome": "relay_timeout"})
        took = time.monotonic() - t0
        t.check(took < 3.0, "stalled relay cut after %.2fs with a 2s "
                "timeout" % took)
        wait_metric(proxy.port, "pushprox_pushes_total", disc0 + 1, 5,
                    labels={"outcome": "discarded"})
    finally:
        sock.close()
    check_normal_scrape(proxy.port, "after a scraper stopped reading")


def _concurrent_round(proxy_port, n, path, timeout_s, io_timeout):
    token = "%08x" % random.getrandbits(32)
    reqs = [t.scrape_request_bytes(hostport(), "%s?i=%d&tok=%s" % (
        path, i, token), timeout_s) for i in range(n)]
    t0 = time.monotonic()
    answers = mass_scrape(proxy_port, reqs, io_timeout)
    took = time.monotonic() - t0
    counts = {}
    wrong = []
    for i, (raw, err) in enumerate(answers):
        if raw is None:
            counts["no answer: %s" % err] = counts.get(
                "no answer: %s" % err, 0) + 1
            continue
        try:
            resp, _ = t.parse_response_bytes(raw)
        except Exception as e:  # counted as wrong
            wrong.append((i, "unparsable %r: %s" % (raw[:100], e)))
            continue
        want = echo_body("%s?i=%d&tok=%s" % (path, i, token))
        if resp.status == 200:
            if resp.body != want:
                wrong.append((i, resp.body[:100]))
            counts["200"] = counts.get("200", 0) + 1
        else:
            key = str(resp.status)
            if resp.status == 503 and "max-concurrency" in resp.text():
                key = "503 (--scrape.max-concurrency)"
            elif token in resp.text() and "i=%d&" % i not in resp.text():
                wrong.append((i, resp.body[:100]))
            counts[key] = counts.get(key, 0) + 1
    return counts, wrong, took


@runner.test
def thousand_concurrent_scrapes_no_mixups():
    # Client allowed 1000 scrapes at once: every scrape must succeed with
    # its own body.
    proxy, client = start_pair(
        proxy_args=["--log.level=info"],
        client_args=["--scrape.max-concurrency=1000", "--log.level=info"],
        name="-1000")
    counts, wrong, took = _concurrent_round(proxy.port, 1000, "/echo", 25,
                                            35)
    print("     1000 scrapes in %.1fs: %s" % (took, counts))
    t.check(not wrong, "%d wrong bodies, e.g. %r" % (len(wrong), wrong[:3]))
    t.check_eq(counts, {"200": 1000}, "answers")
    client.stop()
    # Default-ish limits and a slow target: the overflow gets the
    # documented 503, and still no scrape gets another's body.
    client2 = t.start_client(proxy_url(proxy.port), FQDN,
                             "--scrape.max-concurrency=16",
                             "--log.level=info", name="client-1000-16")
    counts, wrong, took = _concurrent_round(proxy.port, 300, "/echo_slow",
                                            10, 20)
    print("     300 scrapes, 16 at once in the client, in %.1fs: %s" % (
        took, counts))
    t.check(not wrong, "%d wrong bodies, e.g. %r" % (len(wrong), wrong[:3]))
    t.check(set(counts) <= {"200", "503 (--scrape.max-concurrency)"},
            "answers other than 200 and the documented 503: %s" % counts)
    t.check(counts.get("200", 0) >= 16, "too few successes: %s" % counts)
    check_normal_scrape(proxy.port)
    proxy.stop()
    client2.stop()


@runner.test
def duplicate_and_late_pushes_404():
    proxy, _ = main_pair()
    fq = "fake-client.test"
    # A scrape delivered to our hand-made poll.
    poll = RawPoll(proxy.port, fq)
    try:
        wait_metric(proxy.port, "pushprox_polls_waiting", 1, 2)
        th, out = in_thread(t.scrape, proxy.port, fq + ":9100", "/metrics",
                            timeout_s=5, io_timeout=10)
        ans = poll.answer(5)
    finally:
        poll.close()
    t.check_eq(ans.status, 200, "poll answer status")
    req, _ = t.parse_request_bytes(ans.body)
    sid = req.header("Id")
    t.check(sid, "scrape request without Id: %r" % ans.body)
    t.check_eq(req.target, "http://%s:9100/metrics" % fq, "scrape target")
    body = b"fake_metric 42\n"
    r1 = push(proxy.port, push_message(sid, body))
    t.check_eq(r1.status, 200, "first push (body %r)" % r1.body)
    resp, _ = join(th, out, 10, "the scrape")
    t.check_eq(resp.status, 200, "scrape status")
    t.check_eq(resp.body, body, "scrape body")
    t0 = time.monotonic()
    r2 = push(proxy.port, push_message(sid, b"second answer\n"))
    took = time.monotonic() - t0
    t.check_eq(r2.status, 404, "duplicate push (body %r)" % r2.body)
    t.check(took < 0.5, "duplicate push answered after %.2fs" % took)
    # A push after its scrape timed out.
    poll = RawPoll(proxy.port, fq)
    try:
        th, out = in_thread(t.scrape, proxy.port, fq + ":9100", "/metrics",
                            timeout_s=1, io_timeout=5)
        ans = poll.answer(5)
    finally:
        poll.close()
    req, _ = t.parse_request_bytes(ans.body)
    resp, took = join(th, out, 5, "the scrape left unanswered")
    t.check_eq(resp.status, 504, "unanswered scrape (body %r)" % resp.body)
    t.check("push" in resp.text(), "504 should name the wait for the push: "
            "%r" % resp.body)
    r3 = push(proxy.port, push_message(req.header("Id"), b"late\n"))
    t.check_eq(r3.status, 404, "late push (body %r)" % r3.body)
    # And a push with an id nobody ever issued.
    r4 = push(proxy.port, push_message("00000000-0000-4000-8000-"
                                       "000000000000"))
    t.check_eq(r4.status, 404, "push for an unknown id")
    check_normal_scrape(proxy.port)


# -------------------------------------------------- limits, one each ---
# Each limit test starts its own proxy with only the flag it checks.

LIM_FQDN = "lim.test"


def scrape_via_raw_poll(poll, port, path, scrape_fn=t.scrape, timeout_s=5,
                        io_timeout=10):
    """Starts a scrape of LIM_FQDN in a thread and takes it on poll (we
    play the client): returns (thread, result dict, the scrape's Id)."""
    th, out = in_thread(scrape_fn, port, LIM_FQDN + ":9100", path,
                        timeout_s=timeout_s, io_timeout=io_timeout)
    ans = poll.answer(5)
    req, _ = t.parse_request_bytes(ans.body)
    return th, out, req.header("Id")


def recv_after_stall(s):
    """Waits for what the proxy does with the stalled request on s:
    returns (bytes read, b"" if closed or reset; seconds waited)."""
    t0 = time.monotonic()
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        data = b""
    return data, time.monotonic() - t0


@runner.test
def poll_body_over_1kib_413_bad_fqdn_400():
    proxy = t.start_proxy(name="proxy-pollbody")
    port = proxy.port
    try:
        # Oversized poll body (the FQDN is at most 253 bytes; 1 KiB cap).
        resp = t.http_request(port, "POST", "/poll", body=b"a" * 4000)
        t.check_eq(resp.status, 413, "oversized poll body (%r)" % resp.body)
        # Characters no FQDN has.
        for bad in (b"bad host!", b"evil\"name", b"a/b", b"x" * 300):
            resp = t.http_request(port, "POST", "/poll", body=bad)
            t.check_eq(resp.status, 400, "poll body %r (%r)" % (bad[:20],
                                                                 resp.body))
    finally:
        proxy.stop()


@runner.test
def request_head_over_max_header_size_refused():
    proxy = t.start_proxy("--web.max-header-size=8KiB", name="proxy-bighead")
    try:
        # Oversized request head.
        resp = t.http_request(proxy.port, "GET", "/metrics",
                              headers={"X-Big": "b" * 9000})
        t.check(resp.status in (400, 431), "oversized head: %r" % resp)
    finally:
        proxy.stop()


@runner.test
def poll_max_per_client_429_at_once():
    proxy = t.start_proxy("--poll.max-per-client=2", name="proxy-maxpolls")
    port = proxy.port
    polls = []
    try:
        # --poll.max-per-client: the third parked poll of one FQDN gets 429.
        for _ in range(2):
            polls.append(RawPoll(port, LIM_FQDN))
        wait_metric(port, "pushprox_polls_waiting", 2, 2)
        t0 = time.monotonic()
        third = RawPoll(port, LIM_FQDN)
        polls.append(third)
        ans = third.answer(3)
        third.close()
        t.check_eq(ans.status, 429, "third poll (%r)" % ans.body)
        t.check("poll.max-per-client" in ans.text(), "429 body should name "
                "the flag: %r" % ans.body)
        t.check(time.monotonic() - t0 < 0.5, "429 not at once")
    finally:
        for p in polls:
            p.close()
        proxy.stop()


@runner.test
def push_over_max_size_413_scrape_fails():
    proxy = t.start_proxy("--push.max-size=1MiB", name="proxy-pushsize")
    port = proxy.port
    poll = RawPoll(port, LIM_FQDN)
    try:
        wait_metric(port, "pushprox_polls_waiting", 1, 2)
        # --push.max-size: a push over 1 MiB for a live scrape gets 413
        # and the scrape fails.
        th, out, sid = scrape_via_raw_poll(poll, port, "/metrics")
        big = 2 * MiB
        msg = push_message(sid, b"")
        msg = msg.replace(b"Content-Length: 0", b"Content-Length: %d" % big)
        s = t.connect(port)
        try:
            s.sendall(b"POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      b"%d\r\n\r\n" % (len(msg) + big) + msg)
            chunk = b"x" * 65536
            try:
                for _ in range((MiB + 2 * 65536) // 65536):
                    s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass    # the 413 came once past 1 MiB, and the close
            r = t.read_response(t._Reader(s, time.monotonic() + 5))
        finally:
            s.close()
        t.check_eq(r.status, 413, "oversized push (%r)" % r.body)
        t.check("push.max-size" in r.text(), "413 should name the flag: %r"
                % r.body)
        th.join(10)
        t.check(not th.is_alive(), "scrape still running")
        got = out.get("value", (None, 0))[0]
        t.check(got is None or got.status != 200 or
                len(got.body) != big,
                "the scraper got a complete answer: %r" % (got,))
        t.check(pm(port, "pushprox_pushes_total", outcome="too_large") >= 1,
                "too_large pushes not counted")
    finally:
        poll.close()
        proxy.stop()


@runner.test
def pushed_head_over_max_header_size_400_good_push_relayed():
    proxy = t.start_proxy("--web.max-header-size=8KiB",
                          name="proxy-pushhead")
    port = proxy.port
    poll = RawPoll(port, LIM_FQDN)
    try:
        wait_metric(port, "pushprox_polls_waiting", 1, 2)
        # A pushed response whose head is over --web.max-header-size is
        # refused (400) without using up the scrape: a good push for the
        # same id is still relayed.
        th2, out2, sid = scrape_via_raw_poll(poll, port, "/h")
        r = push(port, push_message(sid, b"h 1\n",
                                    extra=["X-Big: " + "b" * 9000]))
        t.check_eq(r.status, 400, "pushed head over 8KiB (%r)" % r.body)
        t.check("too large" in r.text(), "400 should say the head is too "
                "large: %r" % r.body)
        r = push(port, push_message(sid, b"h 2\n"))
        t.check_eq(r.status, 200, "good push after a bad one (%r)" % r.body)
        got = join(th2, out2, 10, "the scrape")[0]
        t.check_eq((got.status, got.body), (200, b"h 2\n"),
                   "scrape answered by the good push")
    finally:
        poll.close()
        proxy.stop()


@runner.test
def stalled_push_cuts_its_scraper_after_read_timeout():
    proxy = t.start_proxy("--web.read-timeout=1s", name="proxy-stallpush")
    port = proxy.port
    poll = RawPoll(port, LIM_FQDN)
    try:
        # A push whose body stalls mid-relay is dropped after
        # --web.read-timeout, and its scraper is cut then, not at the
        # scrape deadline.
        wait_metric(port, "pushprox_polls_waiting", 1, 2)
        th, out, sid = scrape_via_raw_poll(poll, port, "/m",
                                           scrape_fn=stream_scrape,
                                           timeout_s=10, io_timeout=15)
        msg = push_message(sid, b"partial_metric 1\n" * 10)
        s = t.connect(port)
        try:
            s.sendall(b"POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      b"%d\r\n\r\n" % len(msg) + msg[:len(msg) - 40])
            t0 = time.monotonic()
            th.join(6)
            took = time.monotonic() - t0
        finally:
            s.close()
        t.check(not th.is_alive(), "scraper of a stalled push still waiting")
        t.check("error" in out, "the scraper got a complete answer from a "
                "stalled push: %r" % (out.get("value"),))
        t.check(0.8 < took < 2.5, "scraper of a stalled push cut after "
                "%.2fs with --web.read-timeout=1s" % took)
    finally:
        poll.close()
        proxy.stop()


@runner.test
def stalled_request_head_dropped_after_read_timeout():
    proxy = t.start_proxy("--web.read-timeout=1s", name="proxy-stallhead")
    try:
        # A request that stalls mid-head is dropped after --web.read-timeout.
        s = t.connect(proxy.port, timeout=5)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            data, took = recv_after_stall(s)
            t.check(data == b"" or data.startswith(b"HTTP/1.1 408"),
                    "stalled head answered %r" % data[:100])
            t.check(0.8 < took < 2.5, "stalled head dropped after %.2fs "
                    "with --web.read-timeout=1s" % took)
        finally:
            s.close()
    finally:
        proxy.stop()


@runner.test
def stalled_request_body_dropped_after_read_timeout():
    proxy = t.start_proxy("--web.read-timeout=1s", name="proxy-stallbody")
    try:
        # A request whose body stalls is dropped after --web.read-timeout.
        s = t.connect(proxy.port, timeout=5)
        try:
            s.sendall(b"POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      b"100\r\n\r\nHTTP/1.1 200 OK\r\n")
            data, took = recv_after_stall(s)
            t.check(0.8 < took < 2.5, "stalled body dropped after %.2fs"
                    % took)
        finally:
            s.close()
    finally:
        proxy.stop()


@runner.test
def max_connections_503_then_serves_again():
    max_conns = 24
    proxy = t.start_proxy("--web.max-connections=%d" % max_conns,
                          name="proxy-maxconns")
    port = proxy.port
    client = None
    try:
        # --web.max-connections: one connection too many gets 503 and is
        # closed; the proxy serves again once connections go.
        wait_metric(port, "pushprox_connections", 1, 3, op="eq")
        socks = []
        try:
            for _ in range(max_conns):
                socks.append(t.connect(port))
            time.sleep(0.3)
            extra = t.connect(port)
            socks.append(extra)
            r = t.read_response(t._Reader(extra, time.monotonic() + 3))
            t.check_eq(r.status, 503, "connection over the limit (%r)"
                       % r.body)
            t.check(extra.recv(10) == b"", "over-limit connection not "
                    "closed")
        finally:
            for s in socks:
                s.close()
        t.wait_for(lambda: t.http_request(port, "GET", "/metrics",
                                          timeout=1).status == 200, 3,
                   "the proxy to serve after the connection flood")
        # Normal scrapes still work.
        client = t.start_client(proxy_url(port), FQDN, name="client-limits",
                                registered_at=port)
        check_normal_scrape(port)
    finally:
        proxy.stop()
        if client is not None:
            client.stop()


@runner.test
def dead_poll_not_handed_a_scrape():
    proxy = t.start_proxy(name="proxy-deadpoll")
    port = proxy.port
    # No other poll: the scrape waits for a poll and fails with 504.
    poll = RawPoll(port, "dead.test")
    wait_metric(port, "pushprox_polls_waiting", 1, 2)
    poll.close()
    wait_metric(port, "pushprox_polls_waiting", 0, 0.5, op="eq")
    t.check(pm(port, "pushprox_polls_total", outcome="gone") >= 1,
            "hung-up poll not counted gone")
    t.check("dead.test" in t.client_fqdns(port), "a client that hung up its "
            "poll should stay in /clients until --registration.timeout")
    resp, took = t.scrape(port, "dead.test:9100", "/metrics", timeout_s=1,
                          io_timeout=5)
    t.check_eq(resp.status, 504, "status (body %r)" % resp.body)
    t.check("to poll" in resp.text(), "504 should name the wait for a poll "
            "(not for a push): %r" % resp.body)
    t.check_eq(pm(port, "pushprox_polls_total", outcome="scrape"), 0,
               "polls handed a scrape")
    # A queued scrape whose scraper hangs up is not handed to the next
    # poll either.
    sock = t.connect(port)
    sock.sendall(t.scrape_request_bytes("dead.test:9100", "/metrics", 10))
    wait_metric(port, "pushprox_scrapes_queued", 1, 2)
    sock.close()
    wait_metric(port, "pushprox_scrapes_queued", 0, 1, op="eq")
    t.check_eq(pm(port, "pushprox_scrapes_total", outcome="scraper_gone"),
               1, "scrapes counted scraper_gone")
    poll = RawPoll(port, "dead.test")
    try:
        ans = poll.answer(1.5)
    except socket.timeout:
        ans = None      # still parked: right
    finally:
        poll.close()
    t.check(ans is None, "a poll after the queued scrape was cancelled got "
            "%r" % ans)

    # A real client polls too; the dead poll is older than the client's,
    # and the scrape comes right after the hang-up: it must reach the
    # real client.
    target()
    client = t.start_client(proxy_url(port), FQDN, name="client-deadpoll",
                            registered_at=port)
    wait_metric(port, "pushprox_polls_waiting", 1, 2)
    for i in range(10):
        wait_metric(port, "pushprox_polls_waiting", 1, 2, op="eq")
        raw = RawPoll(port, FQDN)
        wait_metric(port, "pushprox_polls_waiting", 2, 2)
        # Rotate the client's poll behind the raw one.
        check_normal_scrape(port, "to rotate the client's poll (%d)" % i)
        wait_metric(port, "pushprox_polls_waiting", 2, 2)
        raw.close()
        check_normal_scrape(port, "right after a poll hung up (%d)" % i,
                            timeout_s=3)
    t.check_eq(pm(port, "pushprox_polls_total", outcome="gone"), 12,
               "hung-up polls counted gone")
    proxy.stop()
    client.stop()

    # A client that hung up stays in /clients for --registration.timeout
    # after its last poll, then leaves it; its scrapes then fail at once.
    proxy = t.start_proxy("--registration.timeout=1s", name="proxy-reg")
    port = proxy.port
    poll = RawPoll(port, "gone.test")
    wait_metric(port, "pushprox_polls_waiting", 1, 2)
    time.sleep(1.3)
    t.check("gone.test" in t.client_fqdns(port), "a client with a poll "
            "open must stay listed, however long the poll")
    poll.close()
    t0 = time.monotonic()
    time.sleep(0.5)
    t.check("gone.test" in t.client_fqdns(port), "left /clients before "
            "--registration.timeout")
    t.wait_for(lambda: "gone.test" not in t.client_fqdns(port), 1.5,
               "gone.test to leave /clients")
    took = time.monotonic() - t0
    t.check(took < 1.6, "left /clients %.2fs after its poll closed with "
            "--registration.timeout=1s" % took)
    resp, took = t.scrape(port, "gone.test:9100", "/metrics", timeout_s=3)
    t.check_eq(resp.status, 502, "scrape of an expired client (%r)" % resp)
    t.check(took < 0.5, "502 after %.2fs" % took)
    proxy.stop()


@runner.test
def descriptor_exhaustion_pauses_accept():
    # The proxy runs out of file descriptors: it must not spin on accept,
    # must keep serving the connections it has, and must take the waiting
    # ones once descriptors are free again.
    def argv(ports):
        return ["/bin/sh", "-c", 'ulimit -n 48 && exec "$0" "$@"', t.PROXY,
                "--web.listen-address=127.0.0.1:%d" % ports[0],
                "--log.level=info"]

    proxy = t.start_daemon("proxy-nofile", argv, lambda d: t.http_request(
        d.port, "GET", "/metrics", timeout=1.0).status == 200)
    port = proxy.port

    def cpu_seconds():
        return t.cpu_seconds(proxy.pid)

    socks = []
    try:
        for _ in range(60):
            socks.append(t.connect(port))
        time.sleep(0.3)
        t.check(t.fd_count(proxy.pid) <= 48, "more fds than the limit?")
        c0 = cpu_seconds()
        time.sleep(2.0)
        used = cpu_seconds() - c0
        t.check(used < 0.5, "proxy used %.2fs of CPU in 2s with its "
                "descriptors exhausted (spinning on accept?)" % used)
        r = t.raw_exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                           b"\r\n", sock=socks[0], timeout=3)
        t.check_eq(r.status, 200, "request on an accepted connection")
        last = socks.pop()
        for s in socks:
            s.close()
        socks = [last]
        r = t.raw_exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                           b"\r\n", sock=last, timeout=3)
        t.check_eq(r.status, 200, "request on a connection accepted once "
                   "descriptors were free")
    finally:
        for s in socks:
            s.close()
    t.check(proxy.alive(), "proxy died")
    client = t.start_client(proxy_url(port), FQDN, name="client-nofile",
                            registered_at=port)
    check_normal_scrape(port)
    proxy.stop()
    client.stop()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
