#!/usr/bin/python3
"""Authentication cost off the event loop (issue 8, item 7).

With basic_auth_users in --web.config.file every password the proxy has
not verified before costs a bcrypt (tens of milliseconds).  Those checks
run on a worker pool (--web.auth-threads) behind a bounded queue
(--web.auth-queue-size, 503 when full), and a source address that fails
too often (--web.auth-failure-limit per minute) is answered 429 without a
check.  Scrapers whose password was verified before never wait for any of
it.  These tests flood the proxy with wrong passwords from 4 pipelining
connections and measure a legitimate, authenticated scrape through a real
client meanwhile; they print the figures (docs/security.md quotes them).

    python3 tests/test_auth_flood.py            # the tests
    python3 tests/test_auth_flood.py --baseline # figures only, any build
                                                # (no new flags used)

FLOOD_SECONDS (default 10) sets how long each flood lasts.
"""
import collections
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402

runner = t.Runner()

USER, PASSWORD = "prometheus", "correct horse battery staple"
FLOOD_SECONDS = float(os.environ.get("FLOOD_SECONDS", "10"))
FLOOD_CONNS, FLOOD_PIPELINE = 4, 8

_state = {}


def password_hash():
    if "hash" not in _state:
        _state["hash"] = t.bcrypt_hash(PASSWORD)  # cost 10, as htpasswd -B
    return _state["hash"]


def web_config():
    if "wc" not in _state:
        path = os.path.join(t.LOGDIR.get(), "auth-flood-web.yml")
        with open(path, "w") as f:
            f.write("basic_auth_users:\n  %s: %s\n" % (USER, password_hash()))
        _state["wc"] = path
    return _state["wc"]


def good(user=USER, password=PASSWORD):
    return [("Proxy-Authorization", t.basic_auth(user, password))]


def start_auth_proxy(*extra, name="proxy"):
    """A proxy with basic_auth_users; ready once /metrics answers 401."""
    def argv(ports):
        return [t.PROXY, "--web.listen-address=127.0.0.1:%d" % ports[0],
                "--web.config.file=" + web_config(),
                "--log.level=info"] + list(extra)

    def ready(d):
        return t.http_request(d.port, "GET", "/metrics",
                              timeout=1.0).status == 401
    return t.start_daemon(name, argv, ready, timeout=15.0)


def start_legit_client(proxy):
    """A real client for localhost, and a target it scrapes."""
    tg = t.TargetServer()
    # http.server sends head and body apart: without TCP_NODELAY, Nagle
    # and the scraper's delayed ACK add 40 ms to every scrape.
    tg.httpd.RequestHandlerClass = type("NoDelayHandler", (
        tg.httpd.RequestHandlerClass,), {"disable_nagle_algorithm": True})
    tg.route("/metrics", t.Route(body=b"legit_up 1\n"))

    def registered(d):
        r = t.http_request(proxy.port, "GET", "/clients", timeout=1.0,
                           headers={"Authorization":
                                    t.basic_auth(USER, PASSWORD)})
        return r.status == 200 and b'"localhost"' in r.body
    client = t.start_client("http://127.0.0.1:%d" % proxy.port, "localhost",
                            name="client", ready=registered)
    return client, tg


def legit_scrape(proxy, tg, timeout=30.0):
    """One authenticated scrape on a new connection: (status, seconds)."""
    t0 = time.monotonic()
    resp = t.raw_exchange(proxy.port, t.scrape_request_bytes(
        "localhost:%d" % tg.port, extra=good()), timeout=timeout)
    return resp.status, time.monotonic() - t0


def attacker(port, hostport, idx, deadline, counts, lock):
    """Pipelines FLOOD_PIPELINE wrong passwords at a time, until deadline;
    reconnects when the proxy closes."""
    n = 0
    for _ in range(100000):
        if time.monotonic() >= deadline:
            return
        try:
            s = t.connect(port, timeout=15)
        except OSError:
            time.sleep(0.05)
            continue
        try:
            for _ in range(100000):
                if time.monotonic() >= deadline:
                    return
                batch = b"".join(t.scrape_request_bytes(
                    hostport, extra=good(password="wrong-%d-%d" % (idx, n + i)),
                    connection_close=False) for i in range(FLOOD_PIPELINE))
                n += FLOOD_PIPELINE
                s.sendall(batch)
                reader = t._Reader(s, time.monotonic() + 30)
                closed = False
                for _ in range(FLOOD_PIPELINE):
                    resp = t.read_response(reader)
                    with lock:
                        counts[resp.status] += 1
                    if (resp.header("Connection") or "").lower() == "close":
                        closed = True
                        break
                if closed:
                    break
        except (OSError, ValueError, ConnectionError):
            with lock:
                counts["conn-error"] += 1
        finally:
            s.close()


def flood_measure(proxy, tg, seconds=None):
    """Floods for seconds while scraping legitimately; returns a dict of
    latencies (seconds), legit statuses and the flood's statuses."""
    seconds = seconds or FLOOD_SECONDS
    counts, lock = collections.Counter(), threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=attacker, daemon=True, args=(
        proxy.port, "localhost:%d" % tg.port, i, deadline, counts, lock))
        for i in range(FLOOD_CONNS)]
    for th in threads:
        th.start()
    time.sleep(0.3)  # let the flood build up
    lat, statuses = [], collections.Counter()
    for _ in range(100000):
        if time.monotonic() >= deadline:
            break
        try:
            status, took = legit_scrape(proxy, tg)
        except (OSError, ValueError, ConnectionError) as e:
            statuses["error: %s" % e] += 1
            continue
        statuses[status] += 1
        lat.append(took)
        time.sleep(0.02)
    for th in threads:
        th.join(timeout=40)
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else -1
    return {"n": len(lat), "min": lat[0] if lat else -1,
            "p50": pct(0.50), "p99": pct(0.99),
            "max": lat[-1] if lat else -1, "statuses": dict(statuses),
            "flood": dict(counts)}


def report(what, r):
    print("  figures (%s, %d conns x %d pipelined wrong passwords, %.0fs): "
          "legit scrapes n=%d min=%.1fms p50=%.1fms p99=%.1fms max=%.1fms "
          "statuses=%s; flood answers %s" % (
              what, FLOOD_CONNS, FLOOD_PIPELINE, FLOOD_SECONDS, r["n"],
              r["min"] * 1000, r["p50"] * 1000, r["p99"] * 1000, r["max"] * 1000,
              r["statuses"], r["flood"]), flush=True)


def setup(*extra):
    proxy = start_auth_proxy(*extra)
    client, tg = start_legit_client(proxy)
    # The first scrape verifies the password (on the pool); later ones
    # find it verified.
    status, _ = legit_scrape(proxy, tg)
    t.check_eq(status, 200, "first authenticated scrape")
    return proxy, client, tg


# ------------------------------------------------------------- tests ---

@runner.test
def flood_pool_only_legit_scrapes_fast():
    """No failure limit: every wrong password gets its bcrypt on the pool
    (or a 503 when the queue is full); the loop stays free."""
    proxy, client, tg = setup("--web.auth-failure-limit=0")
    r = flood_measure(proxy, tg)
    report("pool only, --web.auth-failure-limit=0", r)
    t.check(r["n"] >= 20, "too few legit scrapes: %r" % r)
    t.check_eq(set(r["statuses"]), {200}, "legit statuses")
    t.check(r["p99"] < 0.5, "legit p99 %.0f ms during the flood (want < "
            "500 ms; < 100 ms on an idle 2-core machine)" % (r["p99"] * 1000))
    t.check(r["flood"].get(407, 0) > 0, "no wrong password got checked: %r"
            % r["flood"])
    t.check(set(r["flood"]) <= {407, 503}, "flood answers %r" % r["flood"])
    t.check(proxy.alive(), "proxy died")
    client.stop()
    proxy.stop()


@runner.test
def flood_with_failure_limit_legit_scrapes_fast():
    """With a failure limit (10 a minute here, so that it bites within the
    flood even when bcrypt is slow on a loaded machine; 60 by default),
    the flooding source gets 429 at once after its burst; its verified
    scraper, on the same address, does not."""
    proxy, client, tg = setup("--web.auth-failure-limit=10")
    r = flood_measure(proxy, tg)
    report("--web.auth-failure-limit=10", r)
    t.check_eq(set(r["statuses"]), {200}, "legit statuses")
    t.check(r["p99"] < 0.5, "legit p99 %.0f ms during the flood" %
            (r["p99"] * 1000))
    t.check(r["flood"].get(429, 0) > 0, "the limit did not bite: %r" %
            r["flood"])
    # A burst of 10, then one per 6 s.
    t.check(r["flood"].get(407, 0) <= 10 + FLOOD_SECONDS / 6 + 2,
            "more failures than the limit allows: %r" % r["flood"])
    client.stop()
    proxy.stop()


@runner.test
def over_limit_429_at_once_same_path_for_readers():
    proxy = start_auth_proxy("--web.auth-failure-limit=3")
    target = "nobody.test:9100"
    # Verify the right password first: a cache hit is never limited.
    resp, _ = t.scrape(proxy.port, target, extra=good())
    t.check_eq(resp.status, 502, "right password (no client: 502)")
    for i in range(3):
        resp, _ = t.scrape(proxy.port, target,
                           extra=good(password="bad%d" % i))
        t.check_eq(resp.status, 407, "wrong password %d" % i)
    resp, took = t.scrape(proxy.port, target, extra=good(password="bad9"))
    t.check_eq(resp.status, 429, "over the limit")
    t.check(took < 0.03 or took < 0.2 and t.is_sanitized(proxy.pid),
            "a 429 must not wait for a bcrypt: %.0f ms" % (took * 1000))
    t.check("--web.auth-failure-limit" in resp.text(), "429 names the flag: "
            "%r" % resp.text())
    t.check(int(resp.header("Retry-After") or "0") >= 1,
            "Retry-After %r" % resp.header("Retry-After"))
    # Readers of /metrics and /clients (Authorization, 401) share the limit.
    resp = t.http_request(proxy.port, "GET", "/metrics", headers={
        "Authorization": t.basic_auth(USER, "bad10")})
    t.check_eq(resp.status, 429, "/metrics, wrong password, over the limit")
    # No credentials at all cost no bcrypt: still a plain 401/407.
    resp = t.http_request(proxy.port, "GET", "/clients")
    t.check_eq(resp.status, 401, "/clients without credentials")
    # The verified password still passes, at once, from the same source.
    resp, took = t.scrape(proxy.port, target, extra=good())
    t.check_eq(resp.status, 502, "verified password over the limit")
    resp = t.http_request(proxy.port, "GET", "/metrics", headers={
        "Authorization": t.basic_auth(USER, PASSWORD)})
    t.check_eq(resp.status, 200, "/metrics with the verified password")
    # Another source address is not limited.
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10,
                                 source_address=("127.0.0.2", 0))
    try:
        resp = t.raw_exchange(proxy.port, t.scrape_request_bytes(
            target, extra=good(password="bad11")), sock=s)
    finally:
        s.close()
    t.check_eq(resp.status, 407, "wrong password from 127.0.0.2")
    proxy.stop()


@runner.test
def queue_full_503_at_once():
    proxy = start_auth_proxy("--web.auth-threads=1", "--web.auth-queue-size=1",
                             "--web.auth-failure-limit=0")
    target = "nobody.test:9100"
    socks = []
    try:
        for i in range(6):
            s = t.connect(proxy.port, timeout=20)
            s.sendall(t.scrape_request_bytes(
                target, extra=good(password="bad%d" % i)))
            socks.append(s)
        statuses = []
        for s in socks:
            r = t.read_response(t._Reader(s, time.monotonic() + 20))
            statuses.append(r.status)
            if r.status == 503:
                t.check("--web.auth-queue-size" in r.text(),
                        "503 names the flag: %r" % r.text())
    finally:
        for s in socks:
            s.close()
    # One running and one waiting at most (the worker may not have taken
    # the first job off the queue when the second arrives): the rest are
    # refused at once, and every answer is one of the two.
    t.check(set(statuses) <= {407, 503}, "statuses %r" % statuses)
    t.check(statuses.count(503) >= 4, "statuses %r" % statuses)
    t.check(1 <= statuses.count(407) <= 2, "statuses %r" % statuses)
    proxy.stop()


@runner.test
def connection_closed_during_check_is_harmless():
    """Requests whose connections close while their bcrypt waits or runs
    (the abort callback) must not crash or leak; checked under ASan too."""
    proxy = start_auth_proxy("--web.auth-threads=1", "--web.auth-queue-size=8",
                             "--web.auth-failure-limit=0")
    target = "nobody.test:9100"
    for round_ in range(3):
        socks = []
        for i in range(10):
            s = t.connect(proxy.port, timeout=10)
            # Wrong passwords, and a right one never verified before.
            pw = PASSWORD if i == 3 else "gone%d-%d" % (round_, i)
            s.sendall(t.scrape_request_bytes(target, extra=good(password=pw),
                                             connection_close=False))
            socks.append(s)
        time.sleep(0.03 * round_)
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
            s.close()
    # A SIGHUP (users reloaded) while checks may still be running.
    os.kill(proxy.pid, signal.SIGHUP)
    resp, _ = t.scrape(proxy.port, target, extra=good(), io_timeout=20)
    t.check_eq(resp.status, 502, "right password after the aborts")
    resp = t.http_request(proxy.port, "GET", "/metrics", headers={
        "Authorization": t.basic_auth(USER, PASSWORD)}, timeout=20)
    t.check_eq(resp.status, 200, "/metrics after the aborts")
    t.check(proxy.alive(), "proxy died")
    proxy.stop()


def baseline():
    """Figures for any build (no new flags): python3 ... --baseline."""
    proxy = start_auth_proxy()
    client, tg = start_legit_client(proxy)
    status, took = legit_scrape(proxy, tg)
    print("first scrape %s in %.1f ms" % (status, took * 1000))
    quiet = []
    for _ in range(50):
        quiet.append(legit_scrape(proxy, tg)[1])
        time.sleep(0.02)
    quiet.sort()
    print("  figures (no flood): p50=%.1fms p99=%.1fms" % (
        quiet[25] * 1000, quiet[49] * 1000))
    report("baseline: %s" % t.PROXY, flood_measure(proxy, tg))
    client.stop()
    proxy.stop()
    t.stop_all()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    if "--baseline" in sys.argv:
        baseline()
        sys.exit(0)
    sys.exit(runner.run())
