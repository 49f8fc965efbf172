#!/usr/bin/python3
"""Client hardening (issue 8): what a target or a proxy can send the
client, with the exact bytes, and what the client does with it.

  - redirects (--scrape.redirects, --scrape.max-redirects): by default only
    to the scrape's own scheme, host and port; a redirect elsewhere is
    pushed as a 502 naming the refused Location, and the other host gets
    no request at all; =any follows (the reference's behaviour), =none
    follows nothing, a loop ends after the limit, and under --scrape.allow
    every hop must be allowed too;
  - heads the client must not relay as sent: a header named in the
    target's Connection header, a reason phrase of 9 KB or with control
    characters, statuses 000, 099 and 600, 95 headers (all relayed) and
    more than the client's limit (a 502 naming it), a folded header line;
  - after each, the client (and the proxy) are still running.

The target is a raw socket server in this script (RawTarget), so that it
can send what http.server would refuse to.  Checks on what the client
pushes go through a FakeProxy (the push's bytes as sent); the redirect and
Connection checks go through the real proxy, as a scraper sees them.
Run: PUSHPROX_PROXY=... PUSHPROX_CLIENT=... python3 tests/test_client_hardening.py
"""

import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402

FQDN = "localhost"          # the default client's, resolves to the target
BODY = b"up 1\n"
MAX_REDIRECTS = 10          # LIMIT_MAX_REDIRECTS, the flag's default
MAX_HEADERS = 100           # LIMIT_MAX_HEADERS

runner = t.Runner()
_env = {}


class RawTarget:
    """A loopback HTTP target answering each path with fixed bytes (or a
    function(target) -> bytes), one request per connection, then close.
    Records the path of every request it read."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.routes = {}
        self.paths = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def route(self, path, data):
        with self.lock:
            self.routes[path] = data

    def count(self, path):
        with self.lock:
            return self.paths.count(path)

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,),
                             daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(5.0)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                part = conn.recv(4096)
                if not part:
                    return
                data += part
            line = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = urllib.parse.urlsplit(line[1]).path if len(line) > 1 \
                else ""
            with self.lock:
                self.paths.append(path)
                ans = self.routes.get(path)
            if ans is None:
                ans = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            elif callable(ans):
                ans = ans(self)
            conn.sendall(ans)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


def answer(status_line, headers=(), body=BODY):
    """A response with Content-Length; status_line without CRLF."""
    head = [status_line] + ["%s: %s" % h for h in headers] + [
        "Content-Length: %d" % len(body)]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def redirect(location, status="302 Found"):
    return answer("HTTP/1.1 " + status, [("Location", location)],
                  b"moved\n")


def env():
    """One proxy, the default client (FQDN localhost), a raw target and a
    second, "other" target (an http.server) that no default-policy scrape
    may reach."""
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "proxy" not in _env:
        try:
            _env["target"] = RawTarget()
            other = t.TargetServer()
            other.route("/secret", t.Route(b"secret_metric 1\n"))
            _env["other"] = other
            proxy = t.start_proxy()
            _env["proxy"] = proxy
            _env["client"] = t.start_client(
                "http://127.0.0.1:%d/" % proxy.port, FQDN,
                registered_at=proxy.port)
        except Exception as e:
            _env["error"] = str(e)
            raise
    return _env["target"], _env["other"], _env["proxy"], _env["client"]


def extra_client(fqdn, *flags):
    """Another client of the shared proxy, as fqdn (connecting to
    127.0.0.1 whatever the name), with flags."""
    _, _, proxy, _ = env()
    key = (fqdn,) + flags
    if key not in _env:
        _env[key] = t.start_client(
            "http://127.0.0.1:%d/" % proxy.port, fqdn,
            "--scrape.target-host=127.0.0.1", *flags,
            name="client-" + fqdn.split(".")[0], registered_at=proxy.port)
    return _env[key]


def scrape(path, host=FQDN, port=None, extra=None):
    target, _, proxy, _ = env()
    resp, _ = t.scrape(proxy.port, "%s:%d" % (host, port or target.port),
                       path, timeout_s=5, io_timeout=8, extra=extra)
    return resp


def check_alive(*daemons):
    for d in daemons:
        t.check(d.alive(), "%s (pid %d) died; log tail:\n%s" % (
            d.name, d.pid, d.tail()))


def check_refused(resp, location):
    t.check_eq(resp.status, 502, "status of a refused redirect (body %r)"
               % resp.body)
    t.check(location.encode() in resp.body,
            "the 502 names the refused Location %r: %r" % (location,
                                                           resp.body))


# ------------------------------------------------------------ redirects ---

@runner.test
def redirect_to_other_host_refused():
    target, other, proxy, client = env()
    loc = "http://127.0.0.1:%d/secret" % other.port
    target.route("/jump", redirect(loc))
    other.clear()
    resp = scrape("/jump")
    check_refused(resp, loc)
    t.check(b"same-origin" in resp.body, "the 502 names the policy: %r"
            % resp.body)
    t.check_eq(len(other.requests_for("/secret")), 0,
               "requests the other host received")
    check_alive(client, proxy)


@runner.test
def redirect_to_other_port_same_host_refused():
    target, other, proxy, client = env()
    loc = "http://%s:%d/secret" % (FQDN, other.port)
    target.route("/jump-port", redirect(loc, "307 Temporary Redirect"))
    other.clear()
    check_refused(scrape("/jump-port"), loc)
    t.check_eq(len(other.requests_for("/secret")), 0,
               "requests the other port received")
    check_alive(client)


@runner.test
def redirect_to_other_scheme_refused():
    target, _, _, client = env()
    loc = "https://%s:%d/metrics" % (FQDN, target.port)
    target.route("/jump-tls", redirect(loc, "301 Moved Permanently"))
    n = target.count("/metrics")
    check_refused(scrape("/jump-tls"), loc)
    t.check_eq(target.count("/metrics"), n, "requests for /metrics")
    check_alive(client)


@runner.test
def redirect_same_origin_followed():
    target, _, _, client = env()
    target.route("/metrics", answer("HTTP/1.1 200 OK",
                                    [("Content-Type", "text/plain")]))
    target.route("/old", redirect("/metrics", "301 Moved Permanently"))
    target.route("/old-abs", redirect("http://%s:%d/metrics?x=1" % (
        FQDN, target.port), "308 Permanent Redirect"))
    for path in ("/old", "/old-abs"):
        resp = scrape(path)
        t.check_eq((resp.status, resp.body), (200, BODY),
                   "scrape of %s (301/308 to /metrics)" % path)
        t.check(resp.header("Location") is None, "no Location relayed")
    check_alive(client)


@runner.test
def redirect_loop_bounded():
    target, _, _, client = env()
    target.route("/loop", redirect("/loop"))
    n = target.count("/loop")
    resp = scrape("/loop")
    t.check_eq(resp.status, 502, "status of a redirect loop (body %r)" %
               resp.body)
    t.check(b"--scrape.max-redirects" in resp.body and
            b"%d" % MAX_REDIRECTS in resp.body,
            "the 502 names the limit: %r" % resp.body)
    t.check_eq(target.count("/loop") - n, MAX_REDIRECTS + 1,
               "requests made (the first and %d redirects)" % MAX_REDIRECTS)
    check_alive(client)


@runner.test
def redirects_any_follows_other_host():
    target, other, proxy, _ = env()
    client = extra_client("any.test", "--scrape.redirects=any")
    loc = "http://127.0.0.1:%d/secret" % other.port
    target.route("/jump-any", redirect(loc))
    other.clear()
    resp = scrape("/jump-any", host="any.test", extra=[
        ("Authorization", "Bearer for-any-test-only"),
        ("Cookie", "session=for-any-test-only")])
    t.check_eq((resp.status, resp.body), (200, b"secret_metric 1\n"),
               "scrape followed to the other host")
    reqs = other.requests_for("/secret")
    t.check_eq(len(reqs), 1, "requests there")
    # The scrape's credentials are for its own origin only.
    names = [k.lower() for k, _ in reqs[0].headers]
    t.check("authorization" not in names and "cookie" not in names,
            "credentials sent to the other host: %r" % reqs[0].headers)
    check_alive(client, proxy)


@runner.test
def redirects_none_follows_nothing():
    target, _, _, _ = env()
    client = extra_client("none.test", "--scrape.redirects=none")
    target.route("/old-none", redirect("/metrics"))
    n = target.count("/metrics")
    resp = scrape("/old-none", host="none.test")
    loc = "http://none.test:%d/metrics" % target.port
    check_refused(resp, loc)
    t.check(b"--scrape.redirects=none" in resp.body, "names the flag: %r"
            % resp.body)
    t.check_eq(target.count("/metrics"), n, "requests for /metrics")
    check_alive(client)


@runner.test
def redirect_under_allowlist_checked_per_hop():
    target, _, _, _ = env()
    client = extra_client("allow.test", "--scrape.allow=*/a",
                          "--scrape.allow=*/b")
    target.route("/a", redirect("/b"))
    target.route("/b", answer("HTTP/1.1 200 OK"))
    target.route("/a2", answer("HTTP/1.1 200 OK"))
    resp = scrape("/a", host="allow.test")
    t.check_eq((resp.status, resp.body), (200, BODY), "allowed hop")
    target.route("/a", redirect("/a2"))
    n = target.count("/a2")
    resp = scrape("/a", host="allow.test")
    check_refused(resp, "http://allow.test:%d/a2" % target.port)
    t.check(b"--scrape.allow" in resp.body, "names the allowlist: %r" %
            resp.body)
    t.check_eq(target.count("/a2"), n, "requests for /a2")
    check_alive(client)


@runner.test
def redirects_any_with_allowlist_refused_at_start():
    code, out, err = t.run_cmd([t.CLIENT, "--proxy-url=http://127.0.0.1:1/",
                                "--scrape.allow=9100",
                                "--scrape.redirects=any"])
    t.check(code == 1 and "--scrape.redirects=any" in err and
            "--scrape.allow" in err, "exit %d, stderr %r" % (code, err))


# ---------------------------------------------------------------- heads ---

@runner.test
def connection_named_header_not_relayed():
    target, _, proxy, client = env()
    target.route("/conn", answer("HTTP/1.1 200 OK", [
        ("Connection", "X-Secret"), ("X-Secret", "1"), ("X-Public", "2"),
        ("Content-Type", "text/plain")]))
    resp = scrape("/conn")
    t.check_eq((resp.status, resp.body), (200, BODY), "scrape")
    t.check(not resp.has_header("X-Secret"),
            "X-Secret relayed: %r" % resp.raw_head)
    t.check_eq(resp.header("X-Public"), "2", "X-Public")
    check_alive(client, proxy)


def pushes_for(routes, extra_flags=()):
    """Scrapes each (path, raw answer) through a FakeProxy and a fresh
    client; returns {path: (status line, headers list, body)} as pushed."""
    target, _, _, _ = env()
    answers = []
    for i, (path, data) in enumerate(routes):
        target.route(path, data)
        req = t.scrape_request_bytes("%s:%d" % (FQDN, target.port), path,
                                     timeout_s=5, extra=[("Id", "id%d" % i)])
        answers.append((200, req, [("Content-Type", "text/plain")]))
    fake = t.FakeProxy(answers, hold=2)
    client = t.start_client(fake.url, FQDN, *extra_flags,
                            name="client-fake")
    try:
        fake.wait(lambda: len(fake.pushes) >= len(routes), 10,
                  "%d pushes" % len(routes))
        check_alive(client)
        out = {}
        for raw in fake.pushes:
            resp, _ = t.parse_response_bytes(raw)
            i = int(resp.header("Id")[2:])
            status_line = raw.split(b"\r\n", 1)[0]
            out[routes[i][0]] = (status_line, resp.headers, resp.body, resp)
        return out
    finally:
        client.stop()
        fake.close()


@runner.test
def reason_phrases_replaced_when_long_or_not_printable():
    got = pushes_for([
        ("/r-long", b"HTTP/1.1 200 " + b"x" * 9000 + b"\r\n"
         b"Content-Length: 5\r\n\r\nup 1\n"),
        ("/r-ctl", b"HTTP/1.1 200 O\x01K\x1b[31m\x7f\r\n"
         b"Content-Length: 5\r\n\r\nup 1\n"),
        ("/r-ok", b"HTTP/1.1 200 Fine Thanks\r\n"
         b"Content-Length: 5\r\n\r\nup 1\n"),
        ("/r-404", b"HTTP/1.1 404 \r\nContent-Length: 5\r\n\r\nup 1\n"),
    ])
    t.check_eq(got["/r-long"][0], b"HTTP/1.1 200 OK", "9 KB reason")
    t.check_eq(got["/r-long"][2], BODY, "body")
    t.check_eq(got["/r-ctl"][0], b"HTTP/1.1 200 OK", "control characters")
    t.check_eq(got["/r-ok"][0], b"HTTP/1.1 200 Fine Thanks", "kept")
    t.check_eq(got["/r-404"][0], b"HTTP/1.1 404 Not Found", "empty reason")


@runner.test
def reason_phrase_9k_through_the_proxy():
    target, _, proxy, client = env()
    target.route("/r9k", b"HTTP/1.1 200 " + b"\x01x" * 4500 + b"\r\n"
                 b"Content-Length: 5\r\n\r\nup 1\n")
    resp = scrape("/r9k")
    t.check_eq((resp.status, resp.reason, resp.body), (200, "OK", BODY),
               "scrape")
    check_alive(client, proxy)


@runner.test
def statuses_outside_200_599_pushed_as_502():
    got = pushes_for([
        ("/s000", b"HTTP/1.1 000 OK\r\nContent-Length: 5\r\n\r\nup 1\n"),
        ("/s099", b"HTTP/1.1 099 OK\r\nContent-Length: 5\r\n\r\nup 1\n"),
        ("/s600", b"HTTP/1.1 600 OK\r\nContent-Length: 5\r\n\r\nup 1\n"),
        ("/s999", b"HTTP/1.1 999 OK\r\nContent-Length: 5\r\n\r\nup 1\n"),
    ])
    for path in ("/s600", "/s999"):
        status, _, body, _ = got[path]
        t.check_eq(status, b"HTTP/1.1 502 Bad Gateway", path)
        t.check(path[2:].encode() in body and b"200-599" in body,
                "%s: the 502 names the status: %r" % (path, body))
    for path in ("/s000", "/s099"):
        # curl refuses these itself: any 5xx naming the scrape.
        status, _, body, _ = got[path]
        t.check(status.startswith(b"HTTP/1.1 5") and path.encode() in body,
                "%s: %r %r" % (path, status, body))


@runner.test
def ninety_five_headers_all_pushed():
    hdrs = [("X-H-%02d" % i, "v" * 80) for i in range(95)]
    got = pushes_for([("/many", answer("HTTP/1.1 200 OK", hdrs))])
    _, headers, body, _ = got["/many"]
    names = [k for k, _ in headers if k.startswith("X-H-")]
    t.check_eq(len(names), 95, "X-H- headers pushed")
    t.check_eq(body, BODY, "body")


@runner.test
def headers_over_the_limit_fail_naming_it():
    hdrs = [("X-H-%03d" % i, "v") for i in range(MAX_HEADERS + 5)]
    big = [("X-Big-%02d" % i, "v" * 1000) for i in range(20)]
    got = pushes_for([
        ("/too-many", answer("HTTP/1.1 200 OK", hdrs)),
        ("/too-big", answer("HTTP/1.1 200 OK", big)),
        ("/folded", b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n"
         b"Content-Length: 5\r\n\r\nup 1\n"),
    ])
    status, _, body, _ = got["/too-many"]
    t.check_eq(status, b"HTTP/1.1 502 Bad Gateway", "too many headers")
    t.check(b"%d header fields" % MAX_HEADERS in body,
            "names the limit: %r" % body)
    status, _, body, _ = got["/too-big"]
    t.check(status.startswith(b"HTTP/1.1 5") and b"16384 bytes" in body,
            "head over 16 KiB: %r %r" % (status, body))
    status, headers, body, _ = got["/folded"]
    # Either refused (502) or unfolded; never a header silently cut.
    if status.startswith(b"HTTP/1.1 200"):
        t.check(("X-A", "1 folded") in headers, "unfolded: %r" % headers)
    else:
        t.check(status.startswith(b"HTTP/1.1 5"), "folded: %r" % status)


@runner.test
def poll_answers_that_are_not_requests_leave_client_running():
    target, _, _, _ = env()
    hp = "%s:%d" % (FQDN, target.port)
    target.route("/ok", answer("HTTP/1.1 200 OK"))
    bad = [
        (200, b"GET http://%s/ok HTTP/1.1\r\nId: 1\r\nTransfer-Encoding: "
         b"chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n" % hp.encode(), []),
        (200, b"\x00\xff" * 1000, [("Content-Type", "text/plain")]),
        (200, b"GET http://%s/ok HTTP/1.1\r\nId: 2\r\n\r\n" % hp.encode(),
         [("Content-Type", "image/png")]),
        (200, b"GET http://%s/ok HTTP/1.1\r\nId: \x01\x02\r\n\r\n" %
         hp.encode(), []),
        (200, b"POST http://%s/ok HTTP/1.1\r\nId: 3\r\nContent-Length: 3"
         b"\r\n\r\nabc" % hp.encode(), []),
        (200, b"GET http://%s/ok HTTP/1.1\r\nId: 4\r\n"
         b"X-Prometheus-Scrape-Timeout-Seconds: 1e300\r\n\r\n" % hp.encode(),
         []),
        (200, b"GET http://%s/ok HTTP/1.1\r\nId: 5\r\n\r\n" % hp.encode(),
         []),
    ]
    fake = t.FakeProxy(bad, hold=2)
    client = t.start_client(fake.url, FQDN, name="client-badpolls")
    try:
        fake.wait(lambda: any(b"\r\nId: 5\r\n" in p for p in fake.pushes),
                  10, "the good scrape after the bad poll answers")
        check_alive(client)
        good = [p for p in fake.pushes if b"\r\nId: 5\r\n" in p][0]
        t.check(good.startswith(b"HTTP/1.1 200 OK\r\n"), "good scrape: %r"
                % good[:80])
    finally:
        client.stop()
        fake.close()


class FloodProxy:
    """A proxy that answers each of the first `polls` polls at once with a
    new scrape, and holds every push (up to `hold` seconds), counting the
    pushes open at once."""

    def __init__(self, scrape_req, polls=400, hold=3.0):
        self.lock = threading.Lock()
        self.polls = 0
        self.open_pushes = 0
        self.max_open = 0
        self.stop = threading.Event()
        owner = self

        class Handler(t.http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _answer(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                try:
                    if self.path.endswith("/poll"):
                        with owner.lock:
                            owner.polls += 1
                            i = owner.polls
                        if i > polls:
                            owner.stop.wait(hold)
                            self._answer(204)
                        else:
                            self._answer(200, scrape_req(i))
                    else:
                        with owner.lock:
                            owner.open_pushes += 1
                            owner.max_open = max(owner.max_open,
                                                 owner.open_pushes)
                        owner.stop.wait(hold)
                        with owner.lock:
                            owner.open_pushes -= 1
                        self._answer(200)
                except OSError:
                    pass

        self.httpd = t._QuietServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever,
                         kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@runner.test
def proxy_flooding_scrapes_cannot_pile_up_pushes():
    """A proxy answering every poll at once while holding the pushes: the
    client stops polling while 2 x --scrape.max-concurrency scrapes are
    in flight, instead of opening a push (and a socket) per answer."""
    target, _, _, _ = env()
    target.route("/ok", answer("HTTP/1.1 200 OK"))
    hp = ("%s:%d" % (FQDN, target.port)).encode()

    def req(i):
        return (b"GET http://%s/ok HTTP/1.1\r\nId: f%d\r\n"
                b"X-Prometheus-Scrape-Timeout-Seconds: 1\r\n\r\n" % (hp, i))

    flood = FloodProxy(req, polls=400, hold=3.0)
    client = t.start_client(flood.url, FQDN, "--scrape.max-concurrency=4",
                            name="client-flood")
    try:
        time.sleep(1.5)
        check_alive(client)
        with flood.lock:
            max_open, polls = flood.max_open, flood.polls
        t.check(max_open <= 8, "pushes open at once: %d (polls answered: "
                "%d), want at most 2 x --scrape.max-concurrency = 8" % (
                    max_open, polls))
        # Once held pushes end, polling goes on (it was waiting, not stuck).
        t.wait_for(lambda: flood.polls >= polls + 8, 8.0,
                   "polls after the held pushes ended (had %d)" % polls)
        check_alive(client)
    finally:
        flood.close()
        client.stop()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
