#!/usr/bin/python3
"""Relay semantics (issue 8, items 1, 2 and 9): the real pushprox-proxy,
with this script playing both the client (a poll and a push sent by hand,
exact bytes) and Prometheus (a raw scrape connection).  Each test pushes
one response a target (or a hostile client) could produce and checks, on
the scraper's side, exactly the bytes HTTP allows: no crash, no body where
RFC 9110 forbids one, no interim or out-of-range status relayed as final,
no header silently lost; and that the proxy is alive afterwards.

Run: PUSHPROX_PROXY=... python3 tests/test_relay.py [test names...]
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402

FQDN = "relay.example"
HOSTPORT = FQDN + ":9100"
BODY = b"relay_metric 1\n"

runner = t.Runner()
_env = {}


def proxy():
    if "proxy" not in _env or not _env["proxy"].alive():
        _env["proxy"] = t.start_proxy(name="proxy-relay")
    return _env["proxy"]


class Poll:
    """A poll sent by hand: POST /poll with the FQDN as its body."""

    def __init__(self, port, fqdn=FQDN):
        self.sock = t.connect(port)
        self.sock.sendall(
            b"POST /poll HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
                port, len(fqdn), fqdn.encode()))

    def scrape_id(self, timeout=10.0):
        """Waits for the poll's answer; returns the scrape request's Id."""
        reader = t._Reader(self.sock, time.monotonic() + timeout)
        resp = t.read_response(reader, method="POST")
        t.check_eq(resp.status, 200, "poll answer status")
        req, _ = t.parse_request_bytes(resp.body)
        for k, v in req.headers:
            if k.lower() == "id":
                return req, v
        raise t.TestFailure("poll answer without Id: %r" % resp.body[:300])

    def close(self):
        self.sock.close()


def scrape_bytes(method="GET", close=False, timeout_s=5):
    lines = ["%s http://%s/metrics HTTP/1.1" % (method, HOSTPORT),
             "Host: " + HOSTPORT, "User-Agent: Prometheus/2.42.0",
             "Accept: text/plain",
             "X-Prometheus-Scrape-Timeout-Seconds: %s" % timeout_s]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def push(port, message, timeout=10.0):
    return t.http_request(port, "POST", "/push", body=message,
                          headers={"Content-Type": "text/plain"},
                          timeout=timeout)


def relay(message, method="GET", sock=None, want_push=None, timeout_s=5):
    """One scrape whose pushed response is message (b"{ID}" is replaced by
    the scrape's Id).  Returns (scraper's Response, push's Response,
    scraper socket left open, bytes read past the response)."""
    px = proxy()
    poll = Poll(px.port)
    try:
        t.wait_registered(px.port, FQDN)
        own = sock is None
        if own:
            sock = t.connect(px.port)
        sock.sendall(scrape_bytes(method, timeout_s=timeout_s))
        req, sid = poll.scrape_id()
        t.check_eq(req.method, method, "method of the scrape request")
        presp = push(px.port, message.replace(b"{ID}", sid.encode()))
        reader = t._Reader(sock, time.monotonic() + 10.0)
        resp = t.read_response(reader, method=method)
        if want_push is not None:
            t.check_eq(presp.status, want_push, "push answer status (%s)"
                       % presp.text().strip())
        return resp, presp, sock, reader
    finally:
        poll.close()


def head(status_line, headers=(), body=None, cl=True):
    """A pushed response head (plus body)."""
    lines = [status_line, "Id: {ID}"] + list(headers)
    if body is not None and cl:
        lines.append("Content-Length: %d" % len(body))
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out + (body or b"")


def alive():
    px = _env["proxy"]
    t.check(px.alive(), "the proxy died: exit %s\n%s" % (px.exit_code,
                                                         px.tail(15)))
    r = t.http_request(px.port, "GET", "/metrics")
    t.check_eq(r.status, 200, "proxy /metrics after the test")


def normal_scrape(sock=None):
    """A normal relayed scrape works (on sock if given: keep-alive)."""
    resp, _, s, reader = relay(head("HTTP/1.1 200 OK",
                                    ["Content-Type: text/plain"], BODY),
                               sock=sock, want_push=200)
    t.check_eq(resp.status, 200, "normal scrape status")
    t.check_eq(resp.body, BODY, "normal scrape body")
    if sock is None:
        s.close()
    return resp


def next_on(sock):
    """The next relayed scrape on the same keep-alive connection must be a
    real one: forged bytes left over from the last would show up here."""
    resp = normal_scrape(sock)
    t.check_eq(resp.status, 200, "next response on the connection")


@runner.test
def huge_reason_phrase_9k():
    # Bug 1: a ~9 KB reason phrase made httpreq_write_head fatal().
    resp, presp, s, _ = relay(head("HTTP/1.1 200 " + "R" * 9000,
                                   ["Content-Type: text/plain"], BODY))
    s.close()
    alive()
    t.check_eq(resp.status, 200, "scrape status")
    t.check(len(resp.raw_head) < 4096, "relayed head is %d bytes"
            % len(resp.raw_head))
    t.check_eq(resp.reason, "OK", "reason replaced by the standard one")
    t.check_eq(resp.body, BODY, "body")
    normal_scrape()
    alive()


@runner.test
def long_reason_and_60_long_headers():
    hdrs = ["X-Long-%02d: %s" % (i, "v" * 120) for i in range(60)]
    resp, presp, s, _ = relay(head("HTTP/1.1 200 " + "r" * 700, hdrs, BODY))
    s.close()
    alive()
    t.check_eq(resp.status, 200, "scrape status")
    t.check_eq(resp.reason, "OK", "reason replaced by the standard one")
    for i in range(60):
        t.check_eq(resp.header("X-Long-%02d" % i), "v" * 120,
                   "relayed header X-Long-%02d" % i)
    t.check_eq(resp.body, BODY, "body")
    normal_scrape()


@runner.test
def reason_with_control_bytes_replaced():
    # Either the push parser refuses the status line (strict framing:
    # the push gets 400 and the scraper's 504 names it) or the reason is
    # replaced; never are the control bytes relayed.
    resp, presp, s, _ = relay(head("HTTP/1.1 200 O\x01K\x7f",
                                   ["Content-Type: text/plain"], BODY),
                              timeout_s=1)
    s.close()
    if presp.status == 400:
        t.check_eq(resp.status, 504, "scrape status after a refused push")
        t.check("refused" in resp.text(), "504 names the refused push: %r"
                % resp.text())
    else:
        t.check_eq(resp.reason, "OK", "reason with control bytes")
        t.check_eq(resp.body, BODY, "body")
    alive()


@runner.test
def short_reason_kept():
    resp, _, s, _ = relay(head("HTTP/1.1 200 Fine By Me",
                               ["Content-Type: text/plain"], BODY))
    s.close()
    t.check_eq(resp.reason, "Fine By Me", "a sane reason is relayed")
    alive()


def no_body_relay(status_line, body, cl=True, status=None):
    """Pushes status_line (+ body) to a keep-alive scraper: the scraper
    gets exactly a head, no framing, and its next response is real."""
    sock = t.connect(proxy().port)
    try:
        resp, presp, _, reader = relay(head(status_line,
                                            ["X-Kept: yes"], body, cl=cl),
                                       sock=sock, want_push=200)
        t.check_eq(resp.status, status, "status")
        t.check(not resp.has_header("Transfer-Encoding"),
                "Transfer-Encoding on a %d: %r" % (status, resp.raw_head))
        t.check(not resp.has_header("Content-Length"),
                "Content-Length on a %d: %r" % (status, resp.raw_head))
        t.check_eq(resp.header("X-Kept"), "yes", "other headers relayed")
        # Nothing may follow the head: wait a moment, then look.
        time.sleep(0.3)
        sock.settimeout(0.2)
        try:
            extra = sock.recv(4096)
        except OSError:
            extra = b""
        t.check_eq(reader.buf + extra, b"", "bytes after the %d head"
                   % status)
        sock.settimeout(t.IO_TIMEOUT)
        next_on(sock)
    finally:
        sock.close()
    alive()


@runner.test
def pushed_204_with_body():
    no_body_relay("HTTP/1.1 204 No Content", b"HTTP/1.1 200 OK\r\n"
                  b"Content-Length: 6\r\n\r\nforged", status=204)


@runner.test
def pushed_204_body_without_length():
    no_body_relay("HTTP/1.1 204 No Content", b"forged bytes", cl=False,
                  status=204)


@runner.test
def pushed_304_with_body():
    no_body_relay("HTTP/1.1 304 Not Modified", b"forged", status=304)


@runner.test
def bare_204():
    no_body_relay("HTTP/1.1 204 No Content", None, status=204)


@runner.test
def head_scrape_gets_no_body():
    sock = t.connect(proxy().port)
    try:
        resp, _, _, reader = relay(head("HTTP/1.1 200 OK",
                                        ["Content-Type: text/plain"],
                                        BODY), method="HEAD", sock=sock,
                                   want_push=200)
        t.check_eq(resp.status, 200, "status")
        t.check(not resp.has_header("Transfer-Encoding"),
                "Transfer-Encoding on a HEAD reply")
        cl = resp.header("Content-Length")
        t.check(cl in (None, str(len(BODY))), "Content-Length %r" % cl)
        time.sleep(0.3)
        sock.settimeout(0.2)
        try:
            extra = sock.recv(4096)
        except OSError:
            extra = b""
        t.check_eq(reader.buf + extra, b"", "bytes after the HEAD reply")
        sock.settimeout(t.IO_TIMEOUT)
        next_on(sock)
    finally:
        sock.close()
    alive()


@runner.test
def head_scrape_pushed_without_body():
    # What a client pushes for a HEAD: a Content-Length and no body.
    msg = (b"HTTP/1.1 200 OK\r\nId: {ID}\r\nContent-Length: 1234\r\n"
           b"Content-Type: text/plain\r\n\r\n")
    resp, presp, s, _ = relay(msg, method="HEAD", want_push=200)
    s.close()
    t.check_eq(resp.status, 200, "status")
    t.check(resp.header("Content-Length") in (None, "1234"),
            "Content-Length of a HEAD reply: %r" % resp.raw_head)
    alive()


@runner.test
def proxy_own_head_replies():
    px = proxy()
    for path in ("/metrics", "/clients"):
        sock = t.connect(px.port)
        try:
            sock.sendall(b"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET %s HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n" % (path.encode(),
                                                        path.encode()))
            reader = t._Reader(sock, time.monotonic() + 10)
            # Whatever the answer (the router allows only GET: 405), it
            # carries no body bytes: the GET's answer comes right after.
            r1 = t.read_response(reader, method="HEAD")
            t.check(r1.status in (200, 405), "HEAD %s: %d" % (path,
                                                              r1.status))
            t.check(not r1.has_header("Transfer-Encoding"),
                    "Transfer-Encoding on a HEAD reply")
            r2 = t.read_response(reader, method="GET")
            t.check_eq(r2.status, 200, "GET %s after HEAD (no body "
                       "bytes in between)" % path)
            t.check(r2.body != b"" or path == "/clients", "GET body")
        finally:
            sock.close()


@runner.test
def interim_100_then_200():
    msg = (b"HTTP/1.1 100 Continue\r\nId: {ID}\r\n\r\n" +
           head("HTTP/1.1 200 OK", ["Content-Type: text/plain"], BODY))
    resp, presp, s, _ = relay(msg, want_push=200)
    s.close()
    t.check_eq(resp.status, 200, "final status after a 100")
    t.check_eq(resp.body, BODY, "body")
    alive()


@runner.test
def interim_103_then_204():
    msg = (b"HTTP/1.1 103 Early Hints\r\nId: {ID}\r\nLink: </a>\r\n\r\n"
           b"HTTP/1.1 102 Processing\r\n\r\n" +
           head("HTTP/1.1 204 No Content"))
    resp, presp, s, _ = relay(msg, want_push=200)
    s.close()
    t.check_eq(resp.status, 204, "final status after two interim")
    t.check(resp.header("Link") is None, "interim headers not relayed")
    alive()


def bad_gateway(message, pattern):
    resp, presp, s, _ = relay(message)
    s.close()
    alive()
    t.check_eq(resp.status, 502, "scrape status (%r)" % resp.body[:200])
    t.check(re.search(pattern, resp.text()), "502 text %r lacks %r"
            % (resp.text(), pattern))
    t.check(400 <= presp.status < 500, "push answered %d" % presp.status)
    normal_scrape()
    return resp


@runner.test
def lone_interim_is_502():
    bad_gateway(b"HTTP/1.1 100 Continue\r\nId: {ID}\r\n\r\n",
                r"interim|1xx|no final")


@runner.test
def switching_protocols_is_502():
    bad_gateway(head("HTTP/1.1 101 Switching Protocols",
                     ["Upgrade: websocket", "Connection: Upgrade"]),
                r"101")


@runner.test
def status_000_is_502():
    bad_gateway(head("HTTP/1.1 000 Zero", [], BODY), r"status 0\b|000")


@runner.test
def status_099_is_502():
    bad_gateway(head("HTTP/1.1 099 Low", [], BODY), r"status 99\b|099")


@runner.test
def status_600_is_502():
    bad_gateway(head("HTTP/1.1 600 High", [], BODY), r"600")


@runner.test
def ninety_five_headers_all_relayed():
    # Item 9: 95 headers of ~100 bytes (9.5 KB) parse under the default
    # --web.max-header-size (16 KiB), so all 95 are relayed: the reply's
    # header room is sized from that same cap.
    hdrs = ["X-H-%03d: %s" % (i, "h" * 90) for i in range(95)]
    resp, presp, s, _ = relay(head("HTTP/1.1 200 OK", hdrs, BODY),
                              want_push=200)
    s.close()
    got = [k for k, _ in resp.headers if k.startswith("X-H-")]
    t.check_eq(len(got), 95, "relayed X-H- headers")
    t.check_eq(resp.body, BODY, "body")
    alive()


@runner.test
def pushed_head_over_cap_named():
    # Beyond the cap the push is refused (400 naming the limit and its
    # flag) without using up the scrape (the client may push again: see
    # pushed_head_over_max_header_size_400_good_push_relayed in
    # test_faults.py); if none comes, the scraper's 504 names why, rather
    # than a bare timeout.
    hdrs = ["X-H-%03d: %s" % (i, "h" * 200) for i in range(90)]
    resp, presp, s, _ = relay(head("HTTP/1.1 200 OK", hdrs, BODY),
                              timeout_s=1)
    s.close()
    alive()
    t.check_eq(presp.status, 400, "push answer")
    t.check("web.max-header-size" in presp.text(), "push answer names the "
            "flag: %r" % presp.text())
    t.check_eq(resp.status, 504, "scrape status")
    t.check("refused" in resp.text() and
            "web.max-header-size" in resp.text(),
            "504 names the refused push and the flag: %r" % resp.text())
    normal_scrape()


@runner.test
def large_cap_relays_large_head():
    # Heads fit by construction: with a 64 KiB cap, 60 KB of headers pass.
    px = t.start_proxy("--web.max-header-size=64KiB", name="proxy-bigcap")
    old = _env.get("proxy")
    _env["proxy"] = px
    try:
        hdrs = ["X-B-%02d: %s" % (i, "b" * 650) for i in range(90)]
        resp, presp, s, _ = relay(head("HTTP/1.1 200 " + "Q" * 60, hdrs,
                                       BODY), want_push=200)
        s.close()
        got = [k for k, _ in resp.headers if k.startswith("X-B-")]
        t.check_eq(len(got), 90, "relayed X-B- headers")
        t.check_eq(resp.body, BODY, "body")
        alive()
    finally:
        px.stop()
        _env["proxy"] = old


if __name__ == "__main__":
    t.require_binaries(t.PROXY)
    sys.exit(runner.run())
