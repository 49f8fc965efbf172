#!/usr/bin/python3
"""Strict framing on every parser of peer bytes (issue 8, item 3).

http_parser 2.9.4 as Debian builds it is lenient: it takes "helloXX" for
"hello\\r\\n" after chunk data, a bare LF for CRLF, HTTP/9.9, a folded or
doubled Transfer-Encoding.  A front end that reads such bytes otherwise
disagrees with us on where a message ends (request smuggling), so
common/httpmsg.c refuses them.  Here the exact bytes go to the real
daemons: as requests to the proxy (a 400, then the connection closed),
inside a push (the push gets a 400; the scraper never gets "helloabc" as
a 200), to the client's metrics server, and as a poll answer to the
client (pushed back as an error; the target is never scraped).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402
from pptest.rawhttp import _Reader  # noqa: E402

runner = t.Runner()
IO_S = 5.0
_env = {}

TE = b"Transfer-Encoding: chunked\r\n"
BAD_CHUNK = b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"

# (name, exact request bytes, the error the 400 must name)
BAD_REQUESTS = [
    ("poll_chunk_crlf",
     b"POST /poll HTTP/1.1\r\nHost: x\r\n" + TE + b"\r\n" + BAD_CHUNK,
     "missing CRLF after chunk data"),
    ("poll_chunk_size_junk",
     b"POST /poll HTTP/1.1\r\nHost: x\r\n" + TE +
     b"\r\n8 x\r\nhelloabc\r\n0\r\n\r\n", "invalid chunk size line"),
    ("poll_chunk_trailer_bare_lf",
     b"POST /poll HTTP/1.1\r\nHost: x\r\n" + TE +
     b"\r\n8\r\nhelloabc\r\n0\r\nX: y\n\r\n", "bare LF in chunked trailer"),
    ("get_bare_lf_header",
     b"GET /clients HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
     "bare LF in message head"),
    ("get_bare_lf_request_line",
     b"GET /clients HTTP/1.1\nHost: x\r\n\r\n", "bare LF in message head"),
    ("get_bare_lf_blank_line",
     b"GET /clients HTTP/1.1\r\nHost: x\r\n\n", "bare LF in message head"),
    ("get_bare_cr", b"GET /clients HTTP/1.1\r\nHost: x\ry\r\n\r\n",
     "bare CR in message head"),
    ("get_http_9_9", b"GET /clients HTTP/9.9\r\nHost: x\r\n\r\n",
     "invalid or unsupported HTTP version"),
    ("get_http_0_9", b"GET /clients HTTP/0.9\r\nHost: x\r\n\r\n",
     "invalid or unsupported HTTP version"),
    ("get_http_1_2", b"GET /clients HTTP/1.2\r\nHost: x\r\n\r\n",
     "invalid or unsupported HTTP version"),
    ("poll_duplicate_te",
     b"POST /poll HTTP/1.1\r\nHost: x\r\n" + TE + TE +
     b"\r\n8\r\nhelloabc\r\n0\r\n\r\n", "duplicate Transfer-Encoding"),
    ("poll_folded_te",
     b"POST /poll HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     b" , chunked\r\n\r\n8\r\nhelloabc\r\n0\r\n\r\n",
     "obs-fold (folded header line)"),
    ("poll_te_not_chunked",
     b"POST /poll HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked"
     b"\r\n\r\n8\r\nhelloabc\r\n0\r\n\r\n",
     "Transfer-Encoding other than chunked"),
    ("poll_te_and_cl",
     b"POST /poll HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n" + TE +
     b"\r\n8\r\nhelloabc\r\n0\r\n\r\n",
     "Transfer-Encoding with Content-Length"),
    ("poll_te_http10",
     b"POST /poll HTTP/1.0\r\nHost: x\r\n" + TE +
     b"\r\n8\r\nhelloabc\r\n0\r\n\r\n",
     "Transfer-Encoding in an HTTP/1.0 message"),
    ("poll_duplicate_cl_equal",
     b"POST /poll HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n"
     b"Content-Length: 8\r\n\r\nhelloabc", "duplicate Content-Length"),
    ("poll_cl_not_digits",
     b"POST /poll HTTP/1.1\r\nHost: x\r\nContent-Length: +8\r\n\r\n"
     b"helloabc", "invalid Content-Length"),
    ("get_obs_fold", b"GET /clients HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n"
     b"\r\n", "obs-fold (folded header line)"),
    ("get_control_in_value",
     b"GET /clients HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
     "control character in header value"),
    ("get_nul_in_head", b"GET /clients HTTP/1.1\r\nHost: x\x00\r\n\r\n",
     "NUL byte in message head"),
    ("get_space_before_colon",
     b"GET /clients HTTP/1.1\r\nHost : x\r\n\r\n", "invalid header name"),
]


def proxy():
    if "proxy" not in _env:
        _env["proxy"] = t.start_proxy()
    return _env["proxy"]


def expect_400_and_close(port, data, want_err, what):
    """Sends data; the answer must be a 400 naming want_err, and the
    connection must be closed after it (nothing else read)."""
    sock = t.connect(port, IO_S)
    try:
        sock.sendall(data)
        reader = _Reader(sock, time.monotonic() + IO_S)
        resp = t.read_response(reader, method="GET")
        t.check_eq(resp.status, 400, "%s: status (body %r)" % (what,
                                                               resp.body))
        t.check(want_err.encode() in resp.body,
                "%s: 400 body %r does not name %r" % (what, resp.body,
                                                      want_err))
        t.check_eq(reader.buf, b"", "%s: bytes after the 400" % what)
        sock.settimeout(IO_S)
        try:
            rest = sock.recv(4096)
        except ConnectionResetError:
            rest = b""
        t.check_eq(rest, b"", "%s: connection not closed after the 400"
                   % what)
    finally:
        sock.close()


@runner.test
def requests_refused_400_and_closed():
    port = proxy().port
    for name, data, err in BAD_REQUESTS:
        expect_400_and_close(port, data, err, name)
    # Nothing registered from a bad poll body ("helloabc").
    t.check("helloabc" not in t.client_fqdns(port),
            "a refused poll registered a client")


@runner.test
def smuggled_request_not_served():
    """Lenient, "XX" stands for the CRLF after "hello" and "0" ends the
    body, so a second request follows; a strict front end reads these
    bytes otherwise.  The connection is closed at the bad byte: the
    /metrics after it is never answered.  (GET /clients is answered
    from its head, before its body is read, hence one response first.)"""
    port = proxy().port
    smuggled = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    sock = t.connect(port, IO_S)
    try:
        sock.sendall(b"GET /clients HTTP/1.1\r\nHost: x\r\n" + TE +
                     b"\r\n5\r\nhelloXX0\r\n\r\n" + smuggled)
        reader = _Reader(sock, time.monotonic() + IO_S)
        first = t.read_response(reader)
        t.check_eq(first.status, 200, "GET /clients")
        while not reader.eof:
            reader._fill()
        t.check_eq(reader.buf, b"", "answered after the bad chunk "
                   "framing (the smuggled /metrics)")
    finally:
        sock.close()
    # The same as a poll, whose body is read before any answer: a 400.
    expect_400_and_close(port, b"POST /poll HTTP/1.1\r\nHost: x\r\n" + TE +
                         b"\r\n5\r\nhelloXX0\r\n\r\n" + smuggled,
                         "missing CRLF after chunk data", "smuggled poll")


@runner.test
def still_accepted():
    """Strict, not stricter: valid chunked polls with extensions and
    trailers, HTTP/1.0 keep-alive, leading CRLF."""
    port = proxy().port
    fq = "strict-ok.example"
    sock = t.connect(port, IO_S)
    try:
        resp = t.raw_exchange(
            port, b"GET /clients HTTP/1.0\r\nConnection: keep-alive\r\n"
            b"\r\n", sock=sock)
        t.check_eq(resp.status, 200, "HTTP/1.0 keep-alive")
        resp = t.raw_exchange(
            port, b"\r\nGET /clients HTTP/1.1\r\nHost: x\r\n\r\n", sock=sock)
        t.check_eq(resp.status, 200, "leading CRLF, same connection")
    finally:
        sock.close()
    body = fq.encode()
    chunked = (b"POST /poll HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
               b" Chunked \r\n\r\n6;a=b\r\n" + body[:6] + b"\r\n%x\r\n" %
               (len(body) - 6) + body[6:] + b"\r\n0\r\nX-T: 1\r\n\r\n")
    sock = t.connect(port, IO_S)
    try:
        sock.sendall(chunked)
        t.wait_registered(port, fq, timeout=5)
    finally:
        sock.close()


def register_poll(port, fq):
    """Plays the client: parks a poll, starts a scrape, returns
    (scrape thread, its result, the scrape Id)."""
    poll = t.RawPoll(port, fq)
    try:
        t.wait_registered(port, fq, timeout=5)
        th, out = t.in_thread(t.scrape, port, fq + ":9100", "/metrics",
                              timeout_s=3, io_timeout=10)
        ans = poll.answer(5)
    finally:
        poll.close()
    t.check_eq(ans.status, 200, "poll answer status")
    req, _ = t.parse_request_bytes(ans.body)
    sid = req.header("Id")
    t.check(sid, "scrape request without Id: %r" % ans.body)
    return th, out, sid


@runner.test
def push_with_bad_chunk_framing():
    """The pushed response's own chunked framing is bad: the push gets a
    400 naming it; the scraper gets a 502 or a cut connection, never
    "helloabc" as a 200."""
    port = proxy().port
    cases = [
        ("chunk CRLF", b"HTTP/1.1 200 OK\r\nId: %s\r\n" + TE + b"\r\n" +
         BAD_CHUNK, "missing CRLF after chunk data"),
        ("duplicate TE", b"HTTP/1.1 200 OK\r\nId: %s\r\n" + TE + TE +
         b"\r\n8\r\nhelloabc\r\n0\r\n\r\n", "duplicate Transfer-Encoding"),
        ("bare LF in head", b"HTTP/1.1 200 OK\r\nId: %s\r\nX: y\n" + TE +
         b"\r\n8\r\nhelloabc\r\n0\r\n\r\n", "bare LF in message head"),
    ]
    for i, (what, msg, err) in enumerate(cases):
        fq = "strict-push-%d.example" % i
        th, out, sid = register_poll(port, fq)
        r = t.post_push(port, msg.replace(b"%s", sid.encode()))
        t.check_eq(r.status, 400, "%s: push status (body %r)" % (what,
                                                                 r.body))
        t.check(err.encode() in r.body, "%s: push answer %r does not name "
                "%r" % (what, r.body, err))
        th.join(12)
        t.check(not th.is_alive(), "%s: scrape still waiting" % what)
        if "value" in out:
            resp, _ = out["value"]
            t.check(resp.status != 200, "%s: scraper got a 200 (%r)" % (
                what, resp.body))


@runner.test
def client_metrics_server_strict():
    """The client's own HTTP server parses through the same code."""
    fake = t.FakeProxy(hold=2)
    client = t.start_client(fake.url, "strict-client.example")
    try:
        expect_400_and_close(client.port, b"GET /metrics HTTP/9.9\r\n"
                             b"Host: x\r\n\r\n",
                             "invalid or unsupported HTTP version",
                             "client metrics, HTTP/9.9")
        expect_400_and_close(client.port, b"GET /metrics HTTP/1.1\r\n"
                             b"Host: x\nX: y\r\n\r\n",
                             "bare LF in message head",
                             "client metrics, bare LF")
    finally:
        client.stop()
        fake.close()


@runner.test
def client_poll_answer_bad_framing():
    """A poll answer whose chunked framing is bad is not scraped; the
    client pushes an error naming why."""
    tg = t.TargetServer()
    tg.route("/metrics", t.Route(b"up 1\n"))
    fq = "127.0.0.1"
    answer = (b"GET http://%s:%d/metrics HTTP/1.1\r\nHost: %s:%d\r\n"
              b"Id: bad-1\r\nX-Prometheus-Scrape-Timeout-Seconds: 5\r\n" %
              (fq.encode(), tg.port, fq.encode(), tg.port) + TE + b"\r\n" +
              BAD_CHUNK)
    fake = t.FakeProxy([(200, answer, [("Content-Type", "text/plain")])],
                       hold=2)
    client = t.start_client(fake.url, fq)
    try:
        fake.wait(lambda: any(b"bad-1" in p for p in fake.pushes), 10,
                  "the push answering the bad poll answer")
        push = [p for p in fake.pushes if b"bad-1" in p][0]
        t.check(b"missing CRLF after chunk data" in push,
                "pushed error does not name the framing: %r" % push[:300])
        t.check(not push.startswith(b"HTTP/1.1 200"),
                "bad poll answer scraped: %r" % push[:100])
        t.check_eq(len(tg.requests_for("/metrics")), 0, "target scrapes")
    finally:
        client.stop()
        fake.close()
        tg.close()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
