#!/usr/bin/python3
"""Interop: wire compatibility with the reference Go PushProx.

(a) Our proxy is fed the exact bytes the reference client writes
    (tests/data/go_*.http, push_*.http), and answers what the reference
    client expects.
(b) Our client talks to a fake reference proxy (python, here) that answers
    polls the way the Go proxy does: 200 with no Content-Type and a
    proxy-form request as body, or 408 when the poll is superseded.

Run: PUSHPROX_PROXY=... PUSHPROX_CLIENT=... TEST_DATA_DIR=tests/data
     python3 tests/test_interop.py [test names...]
"""

import gzip
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402
from pptest import Background  # noqa: E402

NODE = "node1.example"          # the FQDN in go_poll_request*.http
NODE_TARGET = NODE + ":9100"    # never contacted: we answer as the client

runner = t.Runner()
_env = {}
_ids = []


def proxy():
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "proxy" not in _env:
        try:
            _env["proxy"] = t.start_proxy()
        except Exception as e:
            _env["error"] = str(e)
            raise
    return _env["proxy"]


def go_poll(port, sample="go_poll_request.http", timeout=15):
    data = t.load_sample(sample, HOST="127.0.0.1:%d" % port)
    return Background(t.raw_exchange, port, data, timeout, "POST")


def go_push(port, inner):
    head = t.load_sample("go_push_request_head.http",
                         HOST="127.0.0.1:%d" % port, LEN=len(inner))
    return t.raw_exchange(port, head + inner, method="POST")


def prometheus_scrape(port, timeout_s=10, io_timeout=15):
    data = t.load_sample("prometheus_scrape_request.http",
                         TARGET=NODE_TARGET, TIMEOUT=str(timeout_s))
    return Background(t.raw_exchange, port, data, io_timeout)


def take_scrape(port, poll_sample="go_poll_request.http", timeout_s=10):
    """A Go-shaped poll, then a Prometheus-shaped scrape; returns the
    pending scrape and the parsed scrape request with its Id."""
    poll = go_poll(port, poll_sample)
    t.wait_registered(port, NODE)
    scraper = prometheus_scrape(port, timeout_s)
    ans = poll.result(15)
    t.check_eq(ans.status, 200, "poll answer status (body %r)" % ans.body)
    ctype = ans.header("Content-Type") or ""
    t.check(ctype.startswith("message/http"),
            "poll answer Content-Type %r, want message/http" % ctype)
    req, rest = t.parse_request_bytes(ans.body)
    t.check_eq(rest, b"", "bytes after the scrape request")
    t.check_eq((req.method, req.target, req.version),
               ("GET", "http://%s/metrics" % NODE_TARGET, "HTTP/1.1"),
               "scrape request line")
    t.check_eq(req.header("Host"), NODE_TARGET, "Host")
    sid = req.header("Id")
    t.check(sid, "no Id header in %r" % ans.body)
    t.check_eq(req.header("User-Agent"), "Prometheus/2.42.0", "User-Agent")
    t.check_eq(req.header("Accept"), t.PROMETHEUS_ACCEPT, "Accept")
    t.check(req.header("X-Prometheus-Scrape-Timeout-Seconds") is not None,
            "no X-Prometheus-Scrape-Timeout-Seconds in the scrape request")
    _ids.append(sid)
    return scraper, sid


def roundtrip(shape, poll_sample="go_poll_request.http"):
    """Poll, scrape, push the sample `shape`; returns (expected inner
    response, what Prometheus got)."""
    port = proxy().port
    scraper, sid = take_scrape(port, poll_sample)
    inner = t.load_sample(shape, ID=sid)
    pushed = go_push(port, inner)
    t.check_eq(pushed.status, 200, "push answer status (body %r)" %
               pushed.body)
    got = scraper.result(15)
    want, _ = t.parse_response_bytes(inner)
    t.check_eq(got.status, want.status, "status Prometheus got")
    t.check(got.body == want.body, "body Prometheus got: %r, want %r" % (
        got.body[:300], want.body[:300]))
    for h in ("Id", "X-Prometheus-Scrape-Timeout"):
        t.check(not got.has_header(h), "%s relayed to Prometheus" % h)
    ctype = want.header("Content-Type")
    if ctype:
        t.check_eq(got.header("Content-Type"), ctype, "Content-Type")
    return want, got


# ------------------------------------------- (a) our proxy, Go client ---

@runner.test
def a_push_content_length():
    roundtrip("push_content_length.http")


@runner.test
def a_push_chunked():
    roundtrip("push_chunked.http")


@runner.test
def a_push_close_delimited():
    roundtrip("push_close_delimited.http")


@runner.test
def a_push_gzip():
    want, got = roundtrip("push_gzip.http")
    t.check_eq(got.header("Content-Encoding"), "gzip", "Content-Encoding")
    t.check(gzip.decompress(got.body).startswith(b"# HELP node_load1"),
            "gzip body does not decompress to the metrics")


@runner.test
def a_push_error_http00_with_length():
    want, got = roundtrip("push_error.http")
    t.check_eq(got.status, 500, "status")


@runner.test
def a_push_error_http00_no_length():
    roundtrip("push_error_no_length.http")


@runner.test
def a_push_target_404_relayed():
    roundtrip("push_not_found.http")


@runner.test
def a_poll_with_empty_content_type():
    roundtrip("push_content_length.http",
              poll_sample="go_poll_request_empty_ctype.http")


@runner.test
def a_scrape_ids_unique():
    t.check(len(_ids) >= 2, "too few scrapes ran to compare ids: %r" % _ids)
    t.check_eq(len(set(_ids)), len(_ids), "distinct scrape ids")


@runner.test
def a_push_unknown_id_404():
    port = proxy().port
    inner = t.load_sample("push_content_length.http",
                          ID="00000000-0000-4000-8000-000000000000")
    resp = go_push(port, inner)
    t.check_eq(resp.status, 404, "status (body %r)" % resp.body)
    t.check(resp.body.strip(), "404 without a text message")


@runner.test
def a_push_malformed_400():
    port = proxy().port
    resp = go_push(port, b"this is not an HTTP response\r\n\r\n")
    t.check_eq(resp.status, 400, "status (body %r)" % resp.body)


@runner.test
def a_scrape_not_pushed_504_then_late_push_404():
    port = proxy().port
    scraper, sid = take_scrape(port, timeout_s=1)
    t0 = time.monotonic()
    got = scraper.result(10)
    took = time.monotonic() - t0
    t.check_eq(got.status, 504, "status (body %r)" % got.body)
    t.check("time" in got.text().lower(),
            "504 body should say which wait timed out: %r" % got.body)
    t.check(took < 2.5, "took %.2fs with a 1s scrape timeout" % took)
    late = go_push(port, t.load_sample("push_content_length.http", ID=sid))
    t.check_eq(late.status, 404, "late push status (body %r)" % late.body)


@runner.test
def a_poll_trimmed_and_204_after_poll_timeout():
    p2 = t.start_proxy("--poll.timeout=1s", name="proxy-polltimeout")
    body = b"  node2.example\n"
    data = (b"POST /poll HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"User-Agent: Go-http-client/1.1\r\nContent-Length: %d\r\n"
            b"Accept-Encoding: gzip\r\n\r\n" % (p2.port, len(body))) + body
    t0 = time.monotonic()
    poll = Background(t.raw_exchange, p2.port, data, 10, "POST")
    t.wait_registered(p2.port, "node2.example", timeout=5)
    resp = poll.result(10)
    took = time.monotonic() - t0
    t.check_eq(resp.status, 204, "status of an idle poll")
    t.check(0.8 < took < 2.5, "idle poll answered after %.2fs, want ~1s" %
            took)
    t.check_eq(p2.stop(), 0, "exit code on SIGTERM")


# ------------------------------------- (b) our client, Go-like proxy ---

METRICS_BODY = (b"# HELP interop_metric Served by the test target.\n"
                b"# TYPE interop_metric counter\n"
                b"interop_metric_total 42\n")


@runner.test
def b_client_against_reference_proxy():
    target = t.TargetServer()
    target.route("/metrics", t.Route(METRICS_BODY))
    target.route("/gz", t.Route(METRICS_BODY * 10, gzip_body=True))
    hp = "localhost:%d" % target.port
    id1 = "3f1c2a9e-8d4b-4e2f-9a61-2b7c5d0e1f23"
    id2 = "9b2e4c6a-1f3d-4a5b-8c7e-0d9f1a2b3c4d"
    ask1 = t.load_sample("go_poll_answer.http", TARGET=hp, ID=id1)
    ask2 = t.load_sample("go_poll_answer.http", TARGET=hp, ID=id2).replace(
        b"/metrics HTTP/1.1", b"/gz HTTP/1.1", 1)
    fake = t.FakeProxy([
        (200, ask1, []),        # no Content-Type, as the Go proxy writes
        (408, b"Poll superseded by a newer poll\n",
         [("Content-Type", "text/plain; charset=utf-8")]),
        (200, ask2, []),
    ], hold=20)
    client = t.start_client(fake.url + "pushprox/", "localhost",
                            name="client-interop", ready=lambda d: True)
    try:
        fake.wait(lambda: len(fake.pushes) >= 2, 15, "two pushes")
        fake.wait(lambda: len(fake.polls) >= 4, 10,
                  "a fourth poll (polling goes on after the 408)")
        for body in fake.polls:
            t.check_eq(body.strip(), b"localhost", "poll body")
        t.check(all(p == "/pushprox/poll" for p in fake.poll_paths),
                "poll paths %r, want /pushprox/poll" % fake.poll_paths)
        t.check(all(p == "/pushprox/push" for p in fake.push_paths),
                "push paths %r, want /pushprox/push" % fake.push_paths)
        pushes = {}
        for raw in fake.pushes:
            resp, rest = t.parse_response_bytes(raw)
            t.check_eq(rest, b"", "bytes after the pushed response")
            pushes[resp.header("Id")] = resp
        t.check_eq(sorted(pushes), sorted([id1, id2]), "pushed Ids")
        r1 = pushes[id1]
        t.check_eq(r1.status, 200, "pushed status")
        t.check_eq(r1.body, METRICS_BODY, "pushed body")
        r2 = pushes[id2]
        t.check_eq(r2.status, 200, "pushed status (gzip)")
        t.check_eq(r2.header("Content-Encoding"), "gzip",
                   "pushed Content-Encoding")
        t.check_eq(gzip.decompress(r2.body), METRICS_BODY * 10,
                   "pushed gzip body")
        seen = target.requests_for("/metrics")
        t.check_eq(len(seen), 1, "scrapes of /metrics")
        t.check_eq(seen[0].header("User-Agent"), "Prometheus/2.42.0",
                   "User-Agent the target saw")
        t.check_eq(seen[0].header("Accept"), t.PROMETHEUS_ACCEPT,
                   "Accept the target saw")
        t.check(not seen[0].has_header("Id"), "the target saw the Id header")
    finally:
        t.check_eq(client.stop(), 0, "client exit code on SIGTERM")
        fake.close()
        target.close()


@runner.test
def b_client_polls_again_after_204():
    # An idle poll answered 204 (our proxy's --poll.timeout) is not an
    # error: after a poll held over a second the client polls again at
    # once, without back-off.
    fake = t.FakeProxy([], hold=1.1)
    client = t.start_client(fake.url, "localhost",
                            "--proxy.retry.initial-wait=3s",
                            "--proxy.retry.max-wait=3s",
                            name="client-204", ready=lambda d: True)
    try:
        t0 = time.monotonic()
        fake.wait(lambda: len(fake.polls) >= 3, 8, "three polls")
        took = time.monotonic() - t0
        t.check(took < 4.0, "three 1.1 s polls took %.2fs: the client "
                "waits after a 204" % took)
    finally:
        t.check_eq(client.stop(), 0, "client exit code on SIGTERM")
        fake.close()


@runner.test
def b_client_paces_instant_204():
    # A proxy that answers 204 at once must not make the client spin:
    # such a poll is followed by --proxy.retry.initial-wait.
    fake = t.FakeProxy([], hold=0)
    client = t.start_client(fake.url, "localhost",
                            "--proxy.retry.initial-wait=1s",
                            "--proxy.retry.max-wait=1s",
                            name="client-204-instant", ready=lambda d: True)
    try:
        fake.wait(lambda: len(fake.polls) >= 1, 5, "a first poll")
        time.sleep(2.5)
        n = len(fake.polls)
        t.check(2 <= n <= 5, "%d polls in 2.5 s after instant 204s: "
                "expected about one a second" % n)
    finally:
        t.check_eq(client.stop(), 0, "client exit code on SIGTERM")
        fake.close()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
