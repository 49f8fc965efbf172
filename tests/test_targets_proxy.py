#!/usr/bin/python3
"""Issue 10 on the proxy, and its Pushprox-Fqdn checks (issue 11): the
real pushprox-proxy on 127.0.0.1, the client played on raw sockets with
the exact headers of docs/protocol.md 2.1-2.5.

A poll with a tag the proxy does not hold is answered at once with
204 + Pushprox-Advertise: required; POST /advertise stores the set under
the tag; a poll with that tag parks; GET /targets lists one group per
target, ready to scrape (FQDN:0, __metrics_path__, instance FQDN/NAME,
labels, __meta_pushprox_*); /clients keeps upstream's shape with labels.
A Go client (no headers) is in /clients, not in /targets.  Refusals
(size, caps, bad labels, type, tag) are clear and touch nothing else;
with --client.auth=token only the FQDN's own identity may advertise.
Pushprox-Fqdn must agree with the poll body and with the scrape a push
answers.  After a proxy restart the client is asked again and its
targets are back within one poll cycle: played by hand, and with the real
pushprox-client and a targets file (kill -9 of the proxy, named scrapes
after it).

Run: PUSHPROX_PROXY=... PUSHPROX_CLIENT=... python3
tests/test_targets_proxy.py [test names...]
"""

import hashlib
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402
from pptest import Background  # noqa: E402
from pptest.rawhttp import _Reader, connect, read_response  # noqa: E402

runner = t.Runner()

ADVERT = {"version": 1, "client_version": "0.1.0",
          "labels": {"site": "berlin"},
          "targets": [{"name": "node", "labels": {"team": "infra"}},
                      {"name": "xesite"}]}
TAG = "1f3a9c0d2b7e4f60"


def poll_bytes(port, fqdn, headers=None, body=None):
    body = (fqdn if body is None else body).encode()
    lines = ["POST /poll HTTP/1.1", "Host: 127.0.0.1:%d" % port,
             "Content-Length: %d" % len(body)]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Poll:
    """A poll on its own connection; answer() waits for its reply."""

    def __init__(self, port, fqdn, headers=None, body=None):
        self.sock = connect(port, timeout=30)
        self.sock.sendall(poll_bytes(port, fqdn, headers, body))
        self.bg = Background(self._read)

    def _read(self):
        return read_response(_Reader(self.sock, time.monotonic() + 30),
                             method="POST")

    def answer(self, timeout=5.0):
        return self.bg.result(timeout)

    def close(self):
        self.sock.close()


def ours(fqdn, tag=TAG):
    return {"Pushprox-Fqdn": fqdn, "Pushprox-Targets": tag}


def poll_once(port, fqdn, headers, timeout=5.0):
    p = Poll(port, fqdn, headers)
    try:
        return p.answer(timeout)
    finally:
        p.close()


def advertise(port, fqdn, advert=None, tag=TAG, headers=None, body=None,
              ctype="application/json"):
    h = {"Pushprox-Fqdn": fqdn, "Pushprox-Targets": tag}
    if ctype is not None:
        h["Content-Type"] = ctype
    for k, v in (headers or {}).items():
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    if body is None:
        body = json.dumps(ADVERT if advert is None else advert)
    return t.http_request(port, "POST", "/advertise", headers=h, body=body)


def sd(port, path):
    resp = t.http_request(port, "GET", path)
    t.check_eq(resp.status, 200, "GET %s status (%r)" % (path, resp.body))
    t.check_eq(resp.header("Content-Type"), "application/json",
               "GET %s content type" % path)
    return json.loads(resp.body)


def groups_of(port, fqdn):
    return [g for g in sd(port, "/targets")
            if g["labels"]["__meta_pushprox_fqdn"] == fqdn]


def client_group(port, fqdn):
    for g in sd(port, "/clients"):
        if g["targets"] == [fqdn]:
            return g
    return None


def attach(port, fqdn, advert=None, tag=TAG):
    """Our client's start: asked, advertises, then a poll that parks."""
    resp = poll_once(port, fqdn, ours(fqdn, tag))
    t.check_eq(resp.status, 204, "first poll with an unknown tag")
    t.check_eq(resp.header("Pushprox-Advertise"), "required",
               "Pushprox-Advertise on the first poll")
    resp = advertise(port, fqdn, advert, tag)
    t.check_eq(resp.status, 204, "advertise (%r)" % resp.body)
    t.check_eq(resp.header("Pushprox-Targets"), tag, "tag echoed")
    p = Poll(port, fqdn, ours(fqdn, tag))
    t.wait_for(lambda: (client_group(port, fqdn) or {}).get(
        "labels", {}).get("__meta_pushprox_poll_open") == "true", 5,
        "%s has a poll open" % fqdn)
    t.check(not p.bg.done(), "a poll with the stored tag was answered: %r"
            % (p.bg.value or p.bg.error,))
    return p


_proxy = {}


def proxy():
    if "p" not in _proxy:
        _proxy["p"] = t.start_proxy("--advertise.max-targets=3",
                                    "--advertise.max-bytes=2KiB",
                                    "--advertise.max-label-bytes=512",
                                    name="proxy-targets")
    return _proxy["p"]


@runner.test
def ask_advertise_park_and_list():
    px = proxy()
    p = attach(px.port, "node1.example")
    try:
        groups = groups_of(px.port, "node1.example")
        t.check_eq([g["labels"]["instance"] for g in groups],
                   ["node1.example/node", "node1.example/xesite"],
                   "instances, sorted by name")
        g = groups[0]
        t.check_eq(g["targets"], ["node1.example:0"], "address")
        lb = g["labels"]
        for k, v in (("__metrics_path__", "/pushprox/targets/node/metrics"),
                     ("__meta_pushprox_target", "node"),
                     ("__meta_pushprox_fqdn", "node1.example"),
                     ("__meta_pushprox_client_version", "0.1.0"),
                     ("__meta_pushprox_last_seen_seconds", "0"),
                     ("__meta_pushprox_poll_open", "true"),
                     ("site", "berlin"), ("team", "infra")):
            t.check_eq(lb.get(k), v, "label " + k)
        t.check(lb.get("__meta_pushprox_client_address", "").startswith(
            "127.0.0.1:"), "client address %r" % lb)
        t.check("team" not in groups[1]["labels"], "xesite has no team")
        c = client_group(px.port, "node1.example")
        t.check_eq(c["labels"].get("site"), "berlin", "/clients label")
        t.check("__meta_pushprox_target" not in c["labels"],
                "/clients has no target label")
        # Steady state: a poll with the stored tag is never asked again.
        p2 = Poll(px.port, "node1.example", ours("node1.example"))
        time.sleep(0.5)
        t.check(not p2.bg.done(), "second poll with the tag answered")
        p2.close()
    finally:
        p.close()


@runner.test
def go_client_in_clients_not_targets():
    px = proxy()
    p = Poll(px.port, "go1.example")  # no headers at all, as Go sends
    try:
        t.wait_for(lambda: client_group(px.port, "go1.example"), 5,
                   "go1 in /clients")
        c = client_group(px.port, "go1.example")
        t.check_eq(sorted(c.keys()), ["labels", "targets"], "group keys")
        t.check_eq(c["labels"].get("__meta_pushprox_poll_open"), "true",
                   "poll_open")
        t.check("__meta_pushprox_client_version" not in c["labels"],
                "a Go client has no version")
        t.check_eq(groups_of(px.port, "go1.example"), [], "/targets")
        t.check(not p.bg.done(), "a Go poll was not parked: %r" % (
            p.bg.value,))
    finally:
        p.close()


@runner.test
def poll_without_tag_clears():
    px = proxy()
    attach(px.port, "gone1.example").close()
    t.check_eq(len(groups_of(px.port, "gone1.example")), 2, "listed")
    p = Poll(px.port, "gone1.example", {"Pushprox-Fqdn": "gone1.example"})
    try:
        t.wait_for(lambda: groups_of(px.port, "gone1.example") == [], 5,
                   "targets cleared by a poll without Pushprox-Targets")
        t.check_eq(client_group(px.port, "gone1.example")["labels"].get(
            "site"), None, "labels cleared too")
    finally:
        p.close()


@runner.test
def refusals_are_clear_and_local():
    px = proxy()
    keep = attach(px.port, "keep.example")
    try:
        many = {"version": 1, "targets": [{"name": "t%d" % i}
                                          for i in range(4)]}
        cases = [
            ("too many targets", dict(advert=many), 400,
             "--advertise.max-targets"),
            ("label bytes", dict(advert={"version": 1, "labels": {
                "big": "x" * 600}, "targets": []}), 400,
             "--advertise.max-label-bytes"),
            ("body size", dict(body=json.dumps({"version": 1, "targets": [
                {"name": "n%04d" % i} for i in range(300)]})), 413,
             "--advertise.max-bytes"),
            ("reserved label", dict(advert={"version": 1, "targets": [
                {"name": "a", "labels": {"__param_x": "1"}}]}), 400,
             "__param_x"),
            ("instance label", dict(advert={"version": 1, "labels": {
                "instance": "x"}, "targets": []}), 400, "instance"),
            ("bad name", dict(advert={"version": 1, "targets": [
                {"name": "a/b"}]}), 400, "name"),
            ("unknown key", dict(advert={"version": 1, "targets": [],
                                         "extra": 1}), 400, "extra"),
            ("invalid JSON", dict(body="{nope"), 400, "JSON"),
            ("not JSON", dict(ctype="text/plain"), 415, "application/json"),
            ("no tag", dict(headers={"Pushprox-Targets": None}), 400,
             "Pushprox-Targets"),
            ("bad tag", dict(tag="a b"), 400, "Pushprox-Targets"),
        ]
        for what, kw, status, needle in cases:
            attach(px.port, "bad.example").close()
            t.check_eq(len(groups_of(px.port, "bad.example")), 2,
                       "%s: listed before" % what)
            resp = advertise(px.port, "bad.example", **kw)
            t.check_eq(resp.status, status, "%s: status (%r)" % (
                what, resp.body))
            t.check(needle.encode() in resp.body, "%s: %r names %r" % (
                what, resp.body, needle))
            t.check_eq(groups_of(px.port, "bad.example"), [],
                       "%s: the refused client's set is cleared" % what)
            t.check_eq(len(groups_of(px.port, "keep.example")), 2,
                       "%s: another client's targets stay" % what)
        resp = advertise(px.port, "bad.example", headers={
            "Pushprox-Fqdn": None})
        t.check_eq(resp.status, 400, "no Pushprox-Fqdn")
        t.check(b"Pushprox-Fqdn" in resp.body, "names the header")
        t.check(px.alive(), "proxy alive")
    finally:
        keep.close()


@runner.test
def advertise_without_poll_registers():
    px = proxy()
    resp = advertise(px.port, "early.example")
    t.check_eq(resp.status, 204, "advertise first (%r)" % resp.body)
    t.check_eq(len(groups_of(px.port, "early.example")), 2,
               "listed as live at once")
    p = Poll(px.port, "early.example", ours("early.example"))
    time.sleep(0.3)
    t.check(not p.bg.done(), "the poll after it parks")
    p.close()


@runner.test
def fqdn_header_must_match():
    px = proxy()
    resp = poll_once(px.port, "a.example", {"Pushprox-Fqdn": "b.example"})
    t.check_eq(resp.status, 400, "poll: header and body differ")
    t.check(b"a.example" in resp.body and b"b.example" in resp.body,
            "names both: %r" % resp.body)
    # A push whose Pushprox-Fqdn is not the scrape's FQDN: 400, and the
    # scrape stays claimable by the right push.
    p = Poll(px.port, "push1.example", {"Pushprox-Fqdn": "push1.example"})
    try:
        t.wait_for(lambda: client_group(px.port, "push1.example"), 5,
                   "push1 registered")
        sc = Background(t.scrape, px.port, "push1.example:9100")
        req = p.answer(5.0)
        t.check_eq(req.status, 200, "poll got the scrape")
        sid = t.parse_request_bytes(req.body)[0].header("Id")
        msg = t.push_message(sid, b"m 1\n")
        resp = t.http_request(px.port, "POST", "/push", headers={
            "Pushprox-Fqdn": "other.example"}, body=msg)
        t.check_eq(resp.status, 400, "push with another FQDN (%r)" %
                   resp.body)
        t.check(b"other.example" in resp.body, "names it: %r" % resp.body)
        resp = t.http_request(px.port, "POST", "/push", headers={
            "Pushprox-Fqdn": "push1.example"}, body=msg)
        t.check_eq(resp.status, 200, "push with the right FQDN")
        sresp, _ = sc.result(10)
        t.check_eq(sresp.status, 200, "scrape answered")
        t.check_eq(sresp.body, b"m 1\n", "scrape body")
    finally:
        p.close()


@runner.test
def named_scrape_unknown_name_404():
    px = proxy()
    p = attach(px.port, "named.example")
    try:
        resp, _ = t.scrape(px.port, "named.example:0",
                           "/pushprox/targets/nope/metrics")
        t.check_eq(resp.status, 404, "unknown name (%r)" % resp.body)
        t.check(b'"nope"' in resp.body and b"node" in resp.body,
                "names it and the known ones: %r" % resp.body)
        resp, _ = t.scrape(px.port, "named.example:0", "/metrics")
        t.check_eq(resp.status, 400, "port 0, not a named path")
        # A known name goes to the client's poll, URL unchanged.
        sc = Background(t.scrape, px.port, "named.example:0",
                        "/pushprox/targets/node/metrics")
        req = p.answer(5.0)
        inner = t.parse_request_bytes(req.body)[0]
        t.check_eq(inner.target,
                   "http://named.example:0/pushprox/targets/node/metrics",
                   "the client gets the named URL")
        resp = t.post_push(px.port, t.push_message(inner.header("Id"),
                                                   b"n 1\n"))
        t.check_eq(resp.status, 200, "push")
        sresp, _ = sc.result(10)
        t.check_eq(sresp.body, b"n 1\n", "scrape body")
    finally:
        p.close()


def tokens(tmp):
    path = os.path.join(tmp, "tokens")
    with open(path, "w") as f:
        f.write("%s tok-a.example\n" % hashlib.sha256(b"token-a").hexdigest())
    return path


@runner.test
def token_identity_bound_to_fqdn():
    tmp = tempfile.mkdtemp(prefix="pushprox-targets-")
    px = t.start_proxy("--client.auth=token",
                       "--client.tokens-file=" + tokens(tmp),
                       name="proxy-token")
    bearer = {"Authorization": "Bearer token-a"}
    resp = advertise(px.port, "tok-a.example", headers=bearer)
    t.check_eq(resp.status, 204, "own FQDN (%r)" % resp.body)
    t.check_eq(len(groups_of(px.port, "tok-a.example")), 2, "listed")
    resp = advertise(px.port, "tok-b.example", headers=bearer)
    t.check_eq(resp.status, 403, "another FQDN (%r)" % resp.body)
    resp = advertise(px.port, "tok-a.example", headers={})
    t.check_eq(resp.status, 401, "no token")
    # A refused stranger does not clear the rightful client's set.
    resp = advertise(px.port, "tok-a.example", headers={
        "Authorization": "Bearer wrong"}, body="{bad")
    t.check_eq(resp.status, 401, "unknown token")
    t.check_eq(len(groups_of(px.port, "tok-a.example")), 2,
               "still listed after a stranger's attempt")
    t.check_eq(groups_of(px.port, "tok-b.example"), [], "never listed")
    px.stop()


@runner.test
def restart_asks_again_within_one_poll():
    px = t.start_proxy("--poll.timeout=2s", name="proxy-restart")
    port = px.port
    p = attach(port, "rs.example")
    p.close()
    px.stop()
    px = t.start_proxy("--poll.timeout=2s", name="proxy-restart2",
                       port=port)
    t.check_eq(groups_of(port, "rs.example"), [], "empty after restart")
    t0 = time.monotonic()
    p = attach(port, "rs.example")
    p.close()
    t.check_eq(len(groups_of(port, "rs.example")), 2, "back")
    t.check(time.monotonic() - t0 < 2.0, "within one poll cycle")
    px.stop()


@runner.test
def real_client_back_after_restart():
    """The real pushprox-client with a targets file: listed, then after a
    kill -9 and restart of the proxy listed again within one poll cycle
    (the client is asked on its next poll and advertises), and a named
    scrape reaches its target."""
    tg = t.TargetServer()
    tg.route("/metrics", t.Route(body=b"real 1\n"))
    tmp = tempfile.mkdtemp(prefix="pushprox-targets-")
    tf = os.path.join(tmp, "targets.yml")
    with open(tf, "w") as f:
        f.write("labels: {site: berlin}\ntargets:\n"
                "  - name: app\n    url: http://127.0.0.1:%d/metrics\n"
                % tg.port)
    px = t.start_proxy("--poll.timeout=3s", name="proxy-real")
    port = px.port
    cl = t.start_client("http://127.0.0.1:%d/" % port, "real.example",
                        "--targets.file=" + tf, name="client-real")
    t.wait_for(lambda: len(groups_of(port, "real.example")) == 1, 10,
               "real.example/app in /targets")
    g = groups_of(port, "real.example")[0]
    t.check_eq(g["labels"]["instance"], "real.example/app", "instance")
    t.check_eq(g["labels"]["site"], "berlin", "client label")
    px.kill()
    px = t.start_proxy("--poll.timeout=3s", name="proxy-real2", port=port)
    t0 = time.monotonic()
    t.wait_for(lambda: len(groups_of(port, "real.example")) == 1, 10,
               "real.example/app back in /targets")
    took = time.monotonic() - t0
    t.check(took < 3.0 + 1.0, "back within one poll cycle (%.1fs)" % took)
    resp, _ = t.scrape(port, "real.example:0",
                       "/pushprox/targets/app/metrics")
    t.check_eq(resp.status, 200, "named scrape (%r)" % resp.body)
    t.check_eq(resp.body, b"real 1\n", "named scrape body")
    resp, _ = t.scrape(port, "real.example:0",
                       "/pushprox/targets/nope/metrics")
    t.check_eq(resp.status, 404, "unknown name")
    cl.stop()
    px.stop()
    tg.close()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
