#!/usr/bin/python3
"""One client, several proxies (issue 11), the advertisement exchange as
the client plays it (issue 10, docs/protocol.md 2.2) and the client's
clean stop (issue 12).

With --proxy-url given twice the client keeps a poll open on both real
proxies, so a scrape through either reaches the same target; a proxy
killed with SIGKILL costs the other nothing (a bounded loop of scrapes
through it runs across the kill and none fails), and once restarted on
the same port it lists the client again within one poll cycle; the
client's /metrics show each proxy up or down.  Against a recording fake
proxy: every request the client sends (poll, push, advertise) carries
Pushprox-Fqdn; a 204 with "Pushprox-Advertise: required" makes the client
POST /advertise (valid JSON, both headers) and poll again at once with
the tag; a Go-like proxy (404 on /advertise) is asked once and then
polled without the tag.  On SIGTERM a scrape in flight is still answered
with the target's 200, and one that outlives --shutdown-timeout with a
503; the client exits 0 either way.
"""
import http.server
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402

runner = t.Runner()

FQDN = "node1.example"
METRICS = b"# TYPE up gauge\nmulti_target_up 1\n"


class RecordingProxy:
    """The proxy side of the protocol, recording every request.

    poll_answers: (status, body, headers) popped one per POST /poll; once
    empty a poll is held (at most hold seconds) and answered 204.
    advertise_status: the answer to POST /advertise (204 echoes the tag).
    """

    def __init__(self, poll_answers=None, advertise_status=204, hold=5.0):
        self.cond = threading.Condition()
        self.poll_answers = list(poll_answers or [])
        self.advertise_status = advertise_status
        self.hold = hold
        self.requests = []      # (monotonic time, path, headers, body)
        self.stop_event = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                with owner.cond:
                    owner.requests.append((time.monotonic(), self.path,
                                           hdrs, body))
                    owner.cond.notify_all()
                    ans = None
                    if self.path.endswith("/poll") and owner.poll_answers:
                        ans = owner.poll_answers.pop(0)
                try:
                    if self.path.endswith("/poll"):
                        if ans is None:
                            owner.stop_event.wait(owner.hold)
                            self._answer(204)
                        else:
                            self._answer(*ans)
                    elif self.path.endswith("/push"):
                        self._answer(200)
                    elif self.path.endswith("/advertise"):
                        st = owner.advertise_status
                        if st == 204:
                            self._answer(204, b"", [(
                                "Pushprox-Targets",
                                hdrs.get("pushprox-targets", ""))])
                        else:
                            self._answer(st, b"not found\n")
                    else:
                        self._answer(404, b"not found\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def of(self, suffix):
        with self.cond:
            return [r for r in self.requests if r[1].endswith(suffix)]

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise t.TestFailure("timed out waiting for " + what)
                self.cond.wait(min(left, 0.2))

    def count(self, suffix):
        return len([r for r in self.requests if r[1].endswith(suffix)])

    def close(self):
        if not self.stop_event.is_set():
            self.stop_event.set()
            self.httpd.shutdown()
            self.httpd.server_close()


def target_server(delay=0.0):
    target = t.TargetServer()
    target.route("/metrics", t.Route(METRICS, delay=delay))
    return target


def poll_answer(port, path="/metrics", scrape_id="id-1"):
    """A 200 poll answer carrying one scrape of 127.0.0.1:port."""
    body = ("GET http://%s:%d%s HTTP/1.1\r\nHost: %s:%d\r\nId: %s\r\n"
            "X-Prometheus-Scrape-Timeout-Seconds: 5\r\n\r\n" % (
                FQDN, port, path, FQDN, port, scrape_id)).encode()
    return (200, body, [("Content-Type", "text/plain")])


def proxy_url(p):
    return "http://127.0.0.1:%d/" % p.port


def start_two(target, *extra):
    p1 = t.start_proxy(name="proxy1")
    p2 = t.start_proxy(name="proxy2")
    client = t.start_client(proxy_url(p1), FQDN,
                            "--proxy-url=" + proxy_url(p2),
                            "--scrape.target-host=127.0.0.1", *extra)
    t.wait_registered(p1.port, FQDN)
    t.wait_registered(p2.port, FQDN)
    return p1, p2, client


def up(client, p):
    return t.metric_value(client.port, "pushprox_client_proxy_up",
                          proxy=proxy_url(p))


@runner.test
def scrapes_through_either_proxy_reach_the_target():
    target = target_server()
    p1, p2, client = start_two(target)
    hp = "%s:%d" % (FQDN, target.port)
    for p in (p1, p2):
        resp, _ = t.scrape(p.port, hp)
        t.check_eq(resp.status, 200, "scrape through %s" % p.name)
        t.check_eq(resp.body, METRICS, "body through %s" % p.name)
    t.check_eq(len(target.requests_for("/metrics")), 2, "target requests")
    m = t.metrics_of(client.port)
    for p in (p1, p2):
        t.check_eq(t.metric_value(m, "pushprox_client_proxy_up",
                                  proxy=proxy_url(p)), 1.0,
                   "proxy_up of %s" % p.name)
        t.check_eq(t.metric_value(m, "pushprox_client_proxy_scrapes_total",
                                  proxy=proxy_url(p)), 1.0,
                   "scrapes of %s" % p.name)
        t.check(t.metric_value(m, "pushprox_client_proxy_polls_total",
                               proxy=proxy_url(p)) >= 1,
                "polls of %s counted" % p.name)
    for d in (client, p1, p2):
        d.stop()
    target.close()


@runner.test
def killed_proxy_costs_the_other_nothing_and_comes_back():
    target = target_server()
    p1, p2, client = start_two(target)
    hp = "%s:%d" % (FQDN, target.port)
    results = []
    done = threading.Event()

    def loop():
        # Bounded: at most 400 scrapes, at most 8 seconds.
        deadline = time.monotonic() + 8.0
        for _ in range(400):
            if done.is_set() or time.monotonic() > deadline:
                break
            try:
                resp, _ = t.scrape(p2.port, hp, io_timeout=5.0)
                results.append(resp.status)
            except OSError as e:
                results.append(repr(e))
            time.sleep(0.01)

    bg = t.Background(loop)
    time.sleep(0.5)
    p1.kill(signal.SIGKILL)
    t.wait_for(lambda: up(client, p1) == 0.0, 5.0, "proxy1 down")
    t.check_eq(up(client, p2), 1.0, "proxy2 still up")
    time.sleep(1.0)
    done.set()
    bg.result(15.0)
    t.check(len(results) >= 10, "only %d scrapes ran" % len(results))
    bad = [r for r in results if r != 200]
    t.check(not bad, "%d of %d scrapes through proxy2 failed while proxy1 "
            "died: %r" % (len(bad), len(results), bad[:5]))
    t.check(t.metric_value(client.port,
                           "pushprox_client_proxy_poll_errors_total",
                           proxy=proxy_url(p1)) >= 1,
            "poll errors of proxy1 counted")
    t.check_eq(t.metric_value(client.port,
                              "pushprox_client_proxy_poll_errors_total",
                              proxy=proxy_url(p2)), 0.0,
               "poll errors of proxy2")
    # Restarted on its port, it lists the client within one poll cycle:
    # the back-off is at most --proxy.retry.max-wait (500ms) + 20%.
    p1b = t.start_proxy(name="proxy1-again", port=p1.port)
    t0 = time.monotonic()
    t.wait_registered(p1b.port, FQDN, timeout=3.0)
    took = time.monotonic() - t0
    t.check(took < 2.0, "relisted after %.2fs" % took)
    t.wait_for(lambda: up(client, p1b) == 1.0, 3.0, "proxy1 up again")
    resp, _ = t.scrape(p1b.port, hp)
    t.check_eq(resp.status, 200, "scrape through the restarted proxy")
    t.check("proxy=http://127.0.0.1:%d/" % p1.port in client.log_text(),
            "the client's log names the failing proxy")
    for d in (client, p1b, p2):
        d.stop()
    target.close()


@runner.test
def every_request_carries_pushprox_fqdn():
    target = target_server()
    fake = RecordingProxy([(204, b"", [("Pushprox-Advertise", "required")]),
                           poll_answer(target.port)])
    client = t.start_client(fake.url, FQDN, "--label=site=berlin",
                            "--scrape.target-host=127.0.0.1")
    fake.wait(lambda: fake.count("/push") >= 1 and
              fake.count("/poll") >= 3, 10.0, "a push and three polls")
    for _, path, hdrs, _ in fake.requests:
        t.check_eq(hdrs.get("pushprox-fqdn"), FQDN,
                   "Pushprox-Fqdn on %s" % path)
    t.check_eq(fake.count("/advertise"), 1, "advertisements")
    _, _, _, push = fake.of("/push")[0]
    t.check(push.startswith(b"HTTP/1.1 200") and push.endswith(METRICS),
            "push carries the target's answer: %r" % push[:80])
    client.stop()
    fake.close()
    target.close()


@runner.test
def advertises_when_asked_then_polls_with_the_tag():
    fake = RecordingProxy([(204, b"", [("Pushprox-Advertise", "required")])])
    client = t.start_client(fake.url, FQDN, "--label=site=berlin",
                            "--label=rack=r1")
    fake.wait(lambda: fake.count("/poll") >= 2, 10.0, "a second poll")
    polls = fake.of("/poll")
    ads = fake.of("/advertise")
    t.check_eq(len(ads), 1, "POST /advertise count")
    at, _, ah, abody = ads[0]
    tag = ah.get("pushprox-targets", "")
    t.check(1 <= len(tag) <= 64 and all(
        c.isalnum() or c in "-_" for c in tag), "tag %r" % tag)
    t.check_eq(ah.get("content-type"), "application/json", "Content-Type")
    doc = json.loads(abody)
    t.check_eq(doc.get("version"), 1, "advertisement version")
    t.check_eq(doc.get("labels"), {"site": "berlin", "rack": "r1"},
               "advertised labels")
    t.check_eq(doc.get("targets"), [], "advertised targets")
    t.check(set(doc) <= {"version", "client_version", "labels", "targets"},
            "only schema keys: %r" % sorted(doc))
    t.check_eq(polls[0][2].get("pushprox-targets"), tag,
               "the first poll carried the tag")
    t.check_eq(polls[1][2].get("pushprox-targets"), tag,
               "the poll after the advertisement carries the tag")
    t.check(polls[1][0] - at < 0.5, "polled again at once (%.2fs)" % (
        polls[1][0] - at))
    t.check(polls[0][3] == FQDN.encode() and polls[1][3] == FQDN.encode(),
            "poll bodies stay the bare FQDN")
    t.check_eq(t.metric_value(client.port,
                              "pushprox_client_proxy_advertisements_total",
                              proxy=fake.url, outcome="stored"), 1.0,
               "stored advertisements counted")
    client.stop()
    fake.close()


@runner.test
def go_like_proxy_404_is_asked_once_then_plain_polls():
    asks = [(204, b"", [("Pushprox-Advertise", "required")])] * 3
    fake = RecordingProxy(asks, advertise_status=404, hold=0.3)
    client = t.start_client(fake.url, FQDN, "--label=site=berlin")
    fake.wait(lambda: fake.count("/poll") >= 5, 10.0, "five polls")
    t.check_eq(fake.count("/advertise"), 1, "POST /advertise after a 404")
    polls = fake.of("/poll")
    t.check(polls[0][2].get("pushprox-targets"), "first poll has the tag")
    for _, _, h, _ in polls[1:]:
        t.check("pushprox-targets" not in h,
                "polls after the 404 carry no tag: %r" % h)
    log = client.log_text()
    t.check_eq(log.count("does not take advertisements"), 1,
               "the 404 is logged once")
    client.stop()
    fake.close()


@runner.test
def real_proxies_learn_the_labels_each():
    """Our proxy speaks the extension: each of two asks and stores."""
    target = target_server()
    p1, p2, client = start_two(target, "--label=site=berlin")

    def labelled(p):
        resp = t.http_request(p.port, "GET", "/clients", timeout=2.0)
        groups = json.loads(resp.body) if resp.status == 200 else []
        return any(FQDN in g.get("targets", []) and
                   g.get("labels", {}).get("site") == "berlin"
                   for g in groups)
    for p in (p1, p2):
        t.wait_for(lambda: labelled(p), 5.0, "labels in %s's /clients" %
                   p.name)
        t.check_eq(t.metric_value(
            client.port, "pushprox_client_proxy_advertisements_total",
            proxy=proxy_url(p), outcome="stored"), 1.0,
            "stored at %s" % p.name)
    resp, _ = t.scrape(p2.port, "%s:%d" % (FQDN, target.port))
    t.check_eq(resp.status, 200, "scrape with the tag in force")
    for d in (client, p1, p2):
        d.stop()
    target.close()


@runner.test
def no_labels_no_targets_no_tag():
    fake = RecordingProxy(hold=0.3)
    client = t.start_client(fake.url, FQDN)
    fake.wait(lambda: fake.count("/poll") >= 2, 10.0, "two polls")
    for _, _, h, _ in fake.of("/poll"):
        t.check("pushprox-targets" not in h, "plain client, no tag")
    t.check_eq(fake.count("/advertise"), 0, "no advertisement")
    client.stop()
    fake.close()


@runner.test
def sigterm_answers_the_scrape_in_flight():
    target = target_server(delay=1.5)
    proxy = t.start_proxy()
    client = t.start_client(proxy_url(proxy), FQDN,
                            "--scrape.target-host=127.0.0.1",
                            registered_at=proxy.port)
    hp = "%s:%d" % (FQDN, target.port)
    bg = t.Background(t.scrape, proxy.port, hp)
    t.wait_for(lambda: target.requests_for("/metrics"), 5.0,
               "the target reached")
    t0 = time.monotonic()
    os.kill(client.pid, signal.SIGTERM)
    resp, _ = bg.result(10.0)
    t.check_eq(resp.status, 200, "scrape in flight at SIGTERM")
    t.check_eq(resp.body, METRICS, "its body")
    client.proc.wait(timeout=10.0)
    t.check_eq(client.proc.returncode, 0, "client exit code")
    t.check(time.monotonic() - t0 < 5.0, "exited once the push was done")
    t.check("polling stopped" in client.log_text(), "drain logged")
    proxy.stop()
    target.close()


@runner.test
def shutdown_timeout_answers_503():
    target = target_server(delay=6.0)
    proxy = t.start_proxy()
    client = t.start_client(proxy_url(proxy), FQDN,
                            "--scrape.target-host=127.0.0.1",
                            "--shutdown-timeout=300ms",
                            registered_at=proxy.port)
    hp = "%s:%d" % (FQDN, target.port)
    bg = t.Background(t.scrape, proxy.port, hp)
    t.wait_for(lambda: target.requests_for("/metrics"), 5.0,
               "the target reached")
    os.kill(client.pid, signal.SIGTERM)
    resp, took = bg.result(10.0)
    t.check_eq(resp.status, 503, "scrape cut by --shutdown-timeout")
    t.check(b"shutting down" in resp.body, "says why: %r" % resp.body)
    t.check(took < 4.0, "answered at the deadline, not the target's")
    client.proc.wait(timeout=10.0)
    t.check_eq(client.proc.returncode, 0, "client exit code")
    proxy.stop()
    target.close()


@runner.test
def proxy_url_flag_checks():
    for argv, want in (
            (["--proxy-url=http://a/", "--proxy-url=http://a/"],
             "given twice"),
            (["--proxy-url=http://p%d/" % i for i in range(17)],
             "more than the 16 allowed"),
            (["--proxy-url=http://a/", "--proxy-url=ftp://b/"],
             "--proxy-url")):
        code, _, err = t.run_cmd([t.CLIENT, "--fqdn=x"] + argv)
        t.check(code != 0 and want in err,
                "%s: exit %d, %r" % (want, code, err))


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
