#!/usr/bin/python3
"""Integration: the real pushprox-proxy and pushprox-client on 127.0.0.1,
scraping an in-process HTTP target the way Prometheus does.

The client registers as "localhost" (it resolves to the loopback target).
Run: PUSHPROX_PROXY=... PUSHPROX_CLIENT=... python3 tests/test_integration.py
[test names...]   (meson test -C build integration sets these)
"""

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402

FQDN = "localhost"
METRICS_BODY = (b"# HELP test_metric A metric for the test.\n"
                b"# TYPE test_metric gauge\n"
                b"test_metric{label=\"a\"} 1\n"
                b"test_metric{label=\"b\"} 2.5\n")

runner = t.Runner()
_env = {}


def env():
    """Target, proxy and client shared by most tests (started once)."""
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "proxy" not in _env:
        try:
            target = t.TargetServer()
            target.route("/metrics", t.Route(METRICS_BODY))
            target.route("/echo", t.Route(
                lambda h: b"# path " + h.path.encode() + b"\nup 1\n"))
            target.route("/echo_slow", t.Route(
                lambda h: b"# path " + h.path.encode() + b"\nup 1\n",
                delay=0.3))
            target.route("/gz", t.Route(METRICS_BODY * 20, gzip_body=True))
            target.route("/chunked", t.Route(METRICS_BODY * 7, chunked=True))
            target.route("/unavailable", t.Route(
                b"target is down for maintenance\n", status=503,
                content_type="text/plain"))
            target.route("/slow", t.Route(METRICS_BODY, delay=5.0))
            big = b"".join(b"big_metric{i=\"%d\"} %d\n" % (i, i * 7)
                           for i in range(150000))
            target.route("/big", t.Route(big))
            _env["big"] = big
            _env["target"] = target
            proxy = t.start_proxy()
            _env["proxy"] = proxy
            _env["client"] = t.start_client(
                "http://127.0.0.1:%d/" % proxy.port, FQDN,
                registered_at=proxy.port)
        except Exception as e:
            _env["error"] = str(e)
            raise
    return _env["target"], _env["proxy"], _env["client"]


def hostport(path_port=None):
    target, _, _ = env()
    return "%s:%d" % (FQDN, path_port or target.port)


# ----------------------------------------------------------------- flags ---

PROXY_FLAGS = ["web.listen-address", "scrape.default-timeout",
               "scrape.max-timeout", "registration.timeout", "poll.timeout",
               "log.level", "log.format"]
CLIENT_FLAGS = ["proxy-url", "fqdn", "metrics-addr",
                "proxy.retry.initial-wait", "proxy.retry.max-wait",
                "proxy.poll-timeout", "scrape.default-timeout",
                "scrape.max-size", "scrape.max-concurrency", "tls.cacert",
                "tls.cert", "tls.key", "log.level", "log.format"]


@runner.test
def flags_help_lists_flags():
    for binary, flags in ((t.PROXY, PROXY_FLAGS), (t.CLIENT, CLIENT_FLAGS)):
        code, out, err = t.run_cmd([binary, "--help"])
        name = os.path.basename(binary)
        t.check_eq(code, 0, "%s --help exit code" % name)
        text = out + err
        missing = [f for f in flags if "--" + f not in text]
        t.check(not missing, "%s --help does not list %s:\n%s" % (
            name, missing, text))


@runner.test
def flags_version_exits_0():
    for binary in (t.PROXY, t.CLIENT):
        code, out, err = t.run_cmd([binary, "--version"])
        name = os.path.basename(binary)
        t.check_eq(code, 0, "%s --version exit code" % name)
        t.check(re.search(r"\d+\.\d+", out + err),
                "%s --version prints no version: %r" % (name, out + err))


@runner.test
def flags_bad_duration_exits_1_naming_flag_and_value():
    cases = [
        (t.PROXY, ["--scrape.max-timeout=abc"], "scrape.max-timeout"),
        (t.PROXY, ["--poll.timeout=abc"], "poll.timeout"),
        (t.CLIENT, ["--proxy-url=http://127.0.0.1:1/",
                    "--scrape.default-timeout=abc"],
         "scrape.default-timeout"),
        (t.CLIENT, ["--proxy-url=http://127.0.0.1:1/",
                    "--proxy.retry.initial-wait=abc"],
         "proxy.retry.initial-wait"),
    ]
    for binary, args, flag in cases:
        code, out, err = t.run_cmd([binary] + args, timeout=5)
        what = "%s %s" % (os.path.basename(binary), " ".join(args))
        t.check_eq(code, 1, what + ": exit code")
        t.check(flag in err and "abc" in err,
                "%s: stderr should name %s and \"abc\": %r" % (what, flag,
                                                               err))


@runner.test
def flags_unknown_or_missing_exit_1():
    code, out, err = t.run_cmd([t.PROXY, "--no-such-flag=1"], timeout=5)
    t.check_eq(code, 1, "proxy --no-such-flag exit code")
    t.check("no-such-flag" in err, "stderr should name the flag: %r" % err)
    code, out, err = t.run_cmd([t.CLIENT, "--fqdn=x"], timeout=5)
    t.check_eq(code, 1, "client without --proxy-url exit code")
    t.check("proxy-url" in err, "stderr should name --proxy-url: %r" % err)


# -------------------------------------------------------------- scrapes ---

@runner.test
def scrape_relays_body_and_status():
    target, proxy, _ = env()
    resp, _ = t.scrape(proxy.port, hostport())
    t.check_eq(resp.status, 200, "status")
    t.check_eq(resp.body, METRICS_BODY, "body")
    t.check_eq(resp.header("Content-Type"),
               "text/plain; version=0.0.4; charset=utf-8", "Content-Type")
    resp, _ = t.scrape(proxy.port, hostport(), "/unavailable")
    t.check_eq(resp.status, 503, "status of a 503 target")
    t.check_eq(resp.body, b"target is down for maintenance\n", "503 body")


@runner.test
def scrape_chunked_and_large_bodies():
    target, proxy, _ = env()
    # Prometheus accepts gzip: the client may push these bodies gzipped.
    resp, _ = t.scrape(proxy.port, hostport(), "/chunked")
    t.check_eq(resp.status, 200, "status")
    t.check_eq(gunzip_pushed(resp), METRICS_BODY * 7, "chunked target body")
    resp, took = t.scrape(proxy.port, hostport(), "/big")
    t.check_eq(resp.status, 200, "status of a %d-byte body" % len(
        _env["big"]))
    body = gunzip_pushed(resp)
    t.check(body == _env["big"], "big body differs (got %d bytes, "
            "want %d)" % (len(body), len(_env["big"])))


def gunzip_pushed(resp):
    """The body as the target sent it: the client's gzip push undone."""
    if resp.header("Content-Encoding") == "gzip":
        return gzip.decompress(resp.body)
    return resp.body


@runner.test
def scrape_keepalive_two_on_one_connection():
    # Prometheus keeps its connection to the proxy open between scrapes.
    _, proxy, _ = env()
    sock = t.connect(proxy.port)
    try:
        for i in range(2):
            req = t.scrape_request_bytes(hostport(), "/echo?n=%d" % i,
                                         connection_close=False)
            resp = t.raw_exchange(proxy.port, req, sock=sock)
            t.check_eq(resp.status, 200, "status of scrape %d" % i)
            t.check_eq(resp.body, b"# path /echo?n=%d\nup 1\n" % i,
                       "body of scrape %d" % i)
    finally:
        sock.close()


@runner.test
def clients_lists_client_sorted():
    _, proxy, _ = env()
    resp = t.http_request(proxy.port, "GET", "/clients")
    t.check_eq(resp.status, 200, "status")
    t.check((resp.header("Content-Type") or "").startswith(
        "application/json"), "Content-Type: %r" % resp.header("Content-Type"))
    # Upstream's shape; the labels are the liveness ones (issue 10).
    groups = json.loads(resp.body)
    t.check_eq([g["targets"] for g in groups], [[FQDN]], "/clients")
    t.check_eq(groups[0]["labels"].get("__meta_pushprox_fqdn"), FQDN,
               "/clients labels")
    # A second client whose name sorts first.
    other = t.start_client("http://127.0.0.1:%d/" % proxy.port,
                           "a-client.test", name="client-a",
                           registered_at=proxy.port)
    try:
        resp = t.http_request(proxy.port, "GET", "/clients")
        t.check_eq([g["targets"] for g in json.loads(resp.body)],
                   [["a-client.test"], [FQDN]], "/clients (sorted)")
    finally:
        t.check_eq(other.stop(), 0, "client-a exit code on SIGTERM")


@runner.test
def gzip_body_passes_through_compressed():
    target, proxy, _ = env()
    target.clear()
    resp, _ = t.scrape(proxy.port, hostport(), "/gz")
    t.check_eq(resp.status, 200, "status")
    t.check_eq(resp.header("Content-Encoding"), "gzip", "Content-Encoding")
    with target.lock:
        sent = target.sent[-1]
    t.check(resp.body == sent, "gzip bytes differ from what the target sent")
    t.check_eq(gzip.decompress(resp.body), METRICS_BODY * 20, "gunzipped")


@runner.test
def scheme_param_removed_before_target():
    target, proxy, _ = env()
    target.clear()
    resp, _ = t.scrape(proxy.port, hostport(), "/echo?_scheme=http")
    t.check_eq(resp.status, 200, "status")
    seen = [r.target for r in target.requests_for("/echo")]
    t.check_eq(len(seen), 1, "requests the target saw")
    t.check(seen[0] in ("/echo", "/echo?"), "target saw %r" % seen[0])
    target.clear()
    resp, _ = t.scrape(proxy.port, hostport(), "/echo?a=1&_scheme=http&b=2")
    t.check_eq(resp.status, 200, "status")
    seen = [r.target for r in target.requests_for("/echo")]
    t.check_eq(seen, ["/echo?a=1&b=2"], "target request with other params")


@runner.test
def scheme_https_switches_scheme():
    # A plain-HTTP target asked for over TLS: the handshake fails, so the
    # scrape fails with a 500 naming the https URL.
    target, proxy, _ = env()
    resp, took = t.scrape(proxy.port, hostport(), "/metrics?_scheme=https",
                          timeout_s=3)
    t.check_eq(resp.status, 500, "status (body %r)" % resp.body)
    want = "https://%s/metrics" % hostport()
    t.check(want in resp.text(), "body should name %s: %r" % (want,
                                                             resp.body))


@runner.test
def scheme_unknown_refused():
    target, proxy, _ = env()
    target.clear()
    resp, _ = t.scrape(proxy.port, hostport(), "/metrics?_scheme=ftp")
    t.check_eq(resp.status, 500, "status (body %r)" % resp.body)
    t.check("ftp" in resp.text(), "body should name the scheme: %r" %
            resp.body)
    t.check(not target.requests_for("/metrics"), "the target was scraped")


@runner.test
def target_sees_prometheus_headers_only():
    target, proxy, _ = env()
    target.clear()
    req = t.load_sample("prometheus_scrape_request_proxyauth.http",
                        TARGET=hostport(), TIMEOUT="10")
    resp = t.raw_exchange(proxy.port, req)
    t.check_eq(resp.status, 200, "status")
    got = target.requests_for("/metrics")
    t.check_eq(len(got), 1, "requests the target saw")
    r = got[0]
    t.check_eq(r.header("Accept"), t.PROMETHEUS_ACCEPT, "Accept")
    t.check_eq(r.header("User-Agent"), "Prometheus/2.42.0", "User-Agent")
    ts = r.header("X-Prometheus-Scrape-Timeout-Seconds")
    t.check(ts is not None and 0 < float(ts) <= 10,
            "X-Prometheus-Scrape-Timeout-Seconds: %r" % ts)
    t.check(not r.has_header("Id"), "target saw an Id header")
    t.check(not r.has_header("Proxy-Authorization"),
            "target saw Proxy-Authorization")
    t.check_eq(r.header("Host"), hostport(), "Host")
    t.check(not resp.has_header("Id"), "scraper saw an Id header")
    t.check(not resp.has_header("X-Prometheus-Scrape-Timeout"),
            "scraper saw X-Prometheus-Scrape-Timeout")


@runner.test
def unregistered_fqdn_502_at_once():
    _, proxy, _ = env()
    resp, took = t.scrape(proxy.port, "nobody.invalid:9100")
    t.check_eq(resp.status, 502, "status")
    t.check("nobody.invalid" in resp.text(),
            "body should name the FQDN: %r" % resp.body)
    t.check(took < 0.5, "took %.2fs, want well under 1s" % took)


@runner.test
def refused_target_500_names_url():
    _, proxy, _ = env()
    port = t.free_port()    # nothing listens there
    resp, took = t.scrape(proxy.port, hostport(port))
    t.check_eq(resp.status, 500, "status (body %r)" % resp.body)
    t.check(hostport(port) in resp.text(),
            "body should name the URL http://%s/metrics: %r" % (
                hostport(port), resp.body))
    t.check(took < 5, "took %.2fs" % took)


@runner.test
def slow_target_fails_within_scrape_timeout():
    _, proxy, _ = env()
    resp, took = t.scrape(proxy.port, hostport(), "/slow", timeout_s=1)
    t.check(resp.status in (500, 504), "status %d, want 500 or 504 (body "
            "%r)" % (resp.status, resp.body))
    t.check(resp.body.strip(), "error body is empty")
    t.check(took < 2.5, "took %.2fs with a 1s scrape timeout" % took)


@runner.test
def concurrent_scrapes_get_their_own_bodies():
    _, proxy, _ = env()
    n = 20
    results = [None] * n

    def one(i):
        try:
            results[i], _ = t.scrape(proxy.port, hostport(),
                                     "/echo_slow?i=%d&x=%d" % (i, i * 31))
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=15)
    took = time.monotonic() - t0
    for i, r in enumerate(results):
        t.check(isinstance(r, t.Response), "scrape %d: %r" % (i, r))
        t.check_eq(r.status, 200, "scrape %d status" % i)
        want = b"# path /echo_slow?i=%d&x=%d\nup 1\n" % (i, i * 31)
        t.check_eq(r.body, want, "scrape %d body" % i)
    # 20 scrapes of 0.3s each must overlap, not run one after another.
    t.check(took < 2.5, "20 concurrent scrapes took %.2fs" % took)


@runner.test
def client_refuses_foreign_host():
    # A fake proxy hands our client a scrape for 127.0.0.1 (reachable, but
    # not the client's FQDN "localhost"): the client must refuse it.
    target, _, _ = env()
    target.clear()
    sid = "6b0d2c1e-4f3a-4b8e-9c55-0a1b2c3d4e5f"
    req = t.load_sample("go_poll_answer.http",
                        TARGET="127.0.0.1:%d" % target.port, ID=sid)
    fake = t.FakeProxy([(200, req, [])], hold=10)
    client = t.start_client(fake.url, FQDN, name="client-foreign",
                            ready=lambda d: True)
    try:
        fake.wait(lambda: fake.pushes, 10, "a push")
        resp, _ = t.parse_response_bytes(fake.pushes[0])
        t.check_eq(resp.status, 500, "pushed status")
        t.check_eq(resp.header("Id"), sid, "pushed Id")
        t.check(resp.body.strip(), "pushed error body is empty")
        t.check(not target.requests_for("/metrics"),
                "the client scraped a host that is not its FQDN")
    finally:
        t.check_eq(client.stop(), 0, "client exit code on SIGTERM")
        fake.close()


# ------------------------------------------------------------- daemons ---

@runner.test
def proxy_metrics_exposed():
    _, proxy, _ = env()
    resp = t.http_request(proxy.port, "GET", "/metrics")
    t.check_eq(resp.status, 200, "status")
    text = resp.text()
    for name in ("pushprox_http_requests_total", "pushprox_proxy_clients"):
        t.check(name in text, "/metrics lacks %s" % name)
    m = re.search(r"^pushprox_proxy_clients(?:\{[^}]*\})? (\S+)$", text, re.M)
    t.check(m and float(m.group(1)) >= 1,
            "pushprox_proxy_clients should be >= 1: %r" % (
                m.group(0) if m else None))
    # The capacity follows the raised descriptor limit, less the reserve.
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    m = re.search(r"^pushprox_proxy_client_capacity (\S+)$", text, re.M)
    t.check(m is not None, "/metrics lacks pushprox_proxy_client_capacity")
    want = 100000 if hard < 0 else min(hard - 100, 100000)
    t.check_eq(int(float(m.group(1))), want, "client capacity")


@runner.test
def client_metrics_exposed():
    _, _, client = env()
    resp = t.http_request(client.port, "GET", "/metrics")
    t.check_eq(resp.status, 200, "status")
    for name in ("pushprox_client_scrape_errors_total",
                 "pushprox_client_push_errors_total",
                 "pushprox_client_poll_errors_total"):
        t.check(name in resp.text(), "client /metrics lacks %s" % name)


@runner.test
def unknown_path_404():
    _, proxy, _ = env()
    resp = t.http_request(proxy.port, "GET", "/no/such/path")
    t.check_eq(resp.status, 404, "status")


@runner.test
def sigterm_exits_0_promptly():
    # A separate pair, with the client's poll held open at the proxy.
    proxy = t.start_proxy(name="proxy-term")
    client = t.start_client("http://127.0.0.1:%d/" % proxy.port,
                            "term.test", name="client-term",
                            registered_at=proxy.port)
    time.sleep(0.2)
    for d in (client, proxy):
        t0 = time.monotonic()
        os.kill(d.pid, signal.SIGTERM)
        try:
            code = d.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            d.stop(timeout=1)
            raise t.TestFailure("%s still running 3s after SIGTERM" % d.name)
        took = time.monotonic() - t0
        d.stop()
        t.check_eq(code, 0, "%s exit code on SIGTERM" % d.name)
        t.check(took < 3, "%s took %.2fs to exit" % (d.name, took))


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
