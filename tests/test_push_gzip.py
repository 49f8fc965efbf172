#!/usr/bin/python3
"""Gzip pushes (issue 13): when the target did not compress and the
scraper accepts gzip, the client pushes the body gzip-encoded and the proxy
relays it untouched, so the scraper decompresses the exact target body;
held (small) and streamed (over 256 KiB, and 100 MiB in constant client
memory) bodies alike.  A scraper without gzip gets identity, a target that
already compressed is relayed as it sent it (never compressed twice),
--push.compression=none turns it off.  With a real node exporter, the push
crosses the client-to-proxy leg in at most a fifth of the bytes it takes
uncompressed (counted by a TCP relay between client and proxy)."""
import gzip
import hashlib
import os
import socket
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402
from pptest.rawhttp import _Reader  # noqa: E402
from pptest import external as x  # noqa: E402

runner = t.Runner()
MiB = 1 << 20


def body_of(n, seed=0):
    """n bytes of Prometheus-like text."""
    lines = []
    size = 0
    i = 0
    while size < n:
        line = b"test_metric{series=\"%06d\",seed=\"%d\"} %d\n" % (
            i, seed, i * 7919 % 100003)
        lines.append(line)
        size += len(line)
        i += 1
    return b"".join(lines)[:n]


def setup(*client_args):
    target = t.TargetServer()
    proxy = t.start_proxy()
    client = t.start_client("http://127.0.0.1:%d" % proxy.port, "127.0.0.1",
                            *client_args, registered_at=proxy.port)
    return target, proxy, client, "127.0.0.1:%d" % target.port


def teardown(target, proxy, client):
    client.stop()
    proxy.stop()
    target.close()


def header(resp, name):
    for k, v in resp.headers:
        if k.lower() == name.lower():
            return v
    return None


def scrape_with(proxy, fqdn, accept_encoding, path="/metrics"):
    lines = ["GET http://%s%s HTTP/1.1" % (fqdn, path), "Host: %s" % fqdn,
             "User-Agent: Prometheus/2.42.0",
             "X-Prometheus-Scrape-Timeout-Seconds: 10"]
    if accept_encoding is not None:
        lines.append("Accept-Encoding: " + accept_encoding)
    lines.append("Connection: close")
    return t.raw_exchange(proxy.port,
                          ("\r\n".join(lines) + "\r\n\r\n").encode(),
                          timeout=30)


@runner.test
def small_body_gzip():
    target, proxy, client, fqdn = setup()
    body = body_of(20000)
    target.route("/metrics", t.Route(body=body))
    resp = scrape_with(proxy, fqdn, "gzip")
    t.check_eq(resp.status, 200, "status")
    t.check_eq(header(resp, "Content-Encoding"), "gzip", "Content-Encoding")
    t.check_eq(header(resp, "Vary"), "Accept-Encoding", "Vary")
    t.check(len(resp.body) < len(body) // 5, "compressed: %d of %d bytes"
            % (len(resp.body), len(body)))
    t.check(gzip.decompress(resp.body) == body, "decompresses to the body")
    # Prometheus's exact request, through the harness's helper.
    resp, _ = t.scrape(proxy.port, fqdn)
    t.check(gzip.decompress(resp.body) == body, "Prometheus's request")
    teardown(target, proxy, client)


@runner.test
def no_gzip_without_accept_encoding():
    target, proxy, client, fqdn = setup()
    body = body_of(20000)
    target.route("/metrics", t.Route(body=body))
    for ae in (None, "identity", "gzip;q=0", "br, gzip; q=0.0",
               "deflate"):
        resp = scrape_with(proxy, fqdn, ae)
        t.check_eq(resp.status, 200, "status (%r)" % ae)
        t.check_eq(header(resp, "Content-Encoding"), None,
                   "Content-Encoding with Accept-Encoding %r" % ae)
        t.check(resp.body == body, "identity body (%r)" % ae)
    for ae in ("gzip;q=0.5", "deflate, x-gzip", "*", "GZIP"):
        resp = scrape_with(proxy, fqdn, ae)
        t.check_eq(header(resp, "Content-Encoding"), "gzip",
                   "Content-Encoding with Accept-Encoding %r" % ae)
        t.check(gzip.decompress(resp.body) == body, "gzip body (%r)" % ae)
    # A tiny body is not worth it.
    target.route("/tiny", t.Route(body=b"up 1\n"))
    resp = scrape_with(proxy, fqdn, "gzip", "/tiny")
    t.check_eq(header(resp, "Content-Encoding"), None, "tiny body")
    t.check_eq(resp.body, b"up 1\n", "tiny body")
    teardown(target, proxy, client)


@runner.test
def target_gzip_passed_through():
    target, proxy, client, fqdn = setup()
    body = body_of(400000)
    for path, chunked in (("/small", False), ("/chunked", True)):
        target.route(path, t.Route(body=body[:30000], gzip_body=True,
                                   chunked=chunked))
        target.clear()
        resp = scrape_with(proxy, fqdn, "gzip", path)
        t.check_eq(resp.status, 200, "status")
        t.check_eq(header(resp, "Content-Encoding"), "gzip", path)
        t.check(resp.body == target.sent[0],
                "%s: the target's gzip bytes, untouched" % path)
        t.check(gzip.decompress(resp.body) == body[:30000],
                "%s: compressed once" % path)
    # Over the window, streamed: also untouched.
    target.route("/big", t.Route(body=body, gzip_body=True))
    big = os.urandom(300000)
    target.route("/bigrandom", t.Route(
        body=big, headers=[("Content-Encoding", "x-custom")]))
    resp = scrape_with(proxy, fqdn, "gzip", "/bigrandom")
    t.check_eq(header(resp, "Content-Encoding"), "x-custom", "x-custom")
    t.check(resp.body == big, "a streamed encoded body untouched")
    teardown(target, proxy, client)


@runner.test
def compression_none():
    target, proxy, client, fqdn = setup("--push.compression=none")
    body = body_of(20000)
    target.route("/metrics", t.Route(body=body))
    target.route("/big", t.Route(body=body_of(600000), chunked=True))
    resp = scrape_with(proxy, fqdn, "gzip")
    t.check_eq(header(resp, "Content-Encoding"), None, "Content-Encoding")
    t.check(resp.body == body, "identity body")
    resp = scrape_with(proxy, fqdn, "gzip", "/big")
    t.check_eq(header(resp, "Content-Encoding"), None, "streamed")
    t.check(resp.body == body_of(600000), "streamed identity body")
    teardown(target, proxy, client)


@runner.test
def streamed_body_gzip():
    target, proxy, client, fqdn = setup("--push.gzip-level=6")
    for path, n, chunked in (("/cl", 300000, False),
                             ("/chunked", 3 * MiB + 7, True),
                             ("/edge", 256 * 1024 + 1, False)):
        body = body_of(n, seed=n)
        target.route(path, t.Route(body=body, chunked=chunked))
        resp = scrape_with(proxy, fqdn, "gzip", path)
        t.check_eq(resp.status, 200, "%s status" % path)
        t.check_eq(header(resp, "Content-Encoding"), "gzip", path)
        t.check(gzip.decompress(resp.body) == body,
                "%s: %d bytes decompress to the body" % (path, n))
    teardown(target, proxy, client)


def gzip_stream_scrape(proxy_port, fqdn, path, timeout):
    """A scrape whose gzip body is decompressed and hashed as it arrives;
    returns (status, Content-Encoding, decompressed bytes, sha256)."""
    deadline = time.monotonic() + timeout
    sock = t.connect(proxy_port, timeout=timeout)
    try:
        sock.sendall(t.scrape_request_bytes(fqdn, path, 60))
        reader = _Reader(sock, deadline)
        head = reader.until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        hd = {}
        for ln in lines[1:]:
            k, v = ln.split(b":", 1)
            hd[k.strip().lower().decode()] = v.strip().decode()
        t.check("chunked" in hd.get("transfer-encoding", ""),
                "a streamed gzip push is chunked")
        d = zlib.decompressobj(31)
        h = hashlib.sha256()
        n = 0
        for _ in range(1 << 22):
            size = int(reader.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                reader.until(b"\r\n")
                break
            data = reader.exactly(size)
            out = d.decompress(data)
            h.update(out)
            n += len(out)
            reader.exactly(2)
        out = d.flush()
        h.update(out)
        n += len(out)
        t.check(d.eof, "the gzip stream ends")
        return status, hd.get("content-encoding"), n, h.hexdigest()
    finally:
        sock.close()


@runner.test
def hundred_mib_constant_memory():
    target, proxy, client, fqdn = setup("--scrape.max-size=200MiB")
    nblocks = 100
    target.route("/huge", t.Route(writer=t.streaming_writer(nblocks)))
    # Warm up (curl's buffers, the first push connection), then measure.
    target.route("/warm", t.Route(body=body_of(600000)))
    scrape_with(proxy, fqdn, "gzip", "/warm")
    rss0 = t.proc_status(client.pid)["VmRSS"]
    peak = [rss0]
    stop = threading.Event()

    def sample():
        for _ in range(6000):
            if stop.wait(0.02):
                return
            peak[0] = max(peak[0], t.proc_status(client.pid).get(
                "VmRSS", 0))

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.monotonic()
    status, enc, n, digest = gzip_stream_scrape(proxy.port, fqdn, "/huge",
                                                120)
    stop.set()
    th.join(5)
    t.check_eq(status, 200, "status")
    t.check_eq(enc, "gzip", "Content-Encoding")
    t.check_eq(n, nblocks * MiB, "decompressed length")
    t.check_eq(digest, t.big_digest(nblocks), "decompressed body")
    growth = peak[0] - rss0
    print("     100 MiB gzip-streamed in %.1fs; client VmRSS %.1f MiB, "
          "peak growth %.0f KiB" % (time.monotonic() - t0, rss0 / MiB,
                                    growth / 1024))
    # ASan keeps freed memory in quarantine: only "not held whole" there.
    limit = 40 * MiB if t.is_sanitized(client.pid) else 3 * MiB
    t.check(growth < limit, "client RSS grew by %d bytes streaming 100 MiB"
            % growth)
    teardown(target, proxy, client)


class CountingRelay:
    """A TCP relay on 127.0.0.1:<ephemeral> to upstream_port, counting the
    bytes it carries towards upstream."""

    def __init__(self, upstream_port):
        self.up = upstream_port
        self.lock = threading.Lock()
        self.to_upstream = 0
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        for _ in range(100000):
            try:
                c, _a = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.up))
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, u, True),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, False),
                             daemon=True).start()

    def _pipe(self, a, b, count):
        for _ in range(1 << 24):
            try:
                data = a.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            if count:
                with self.lock:
                    self.to_upstream += len(data)
            try:
                b.sendall(data)
            except OSError:
                break
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self):
        with self.lock:
            n, self.to_upstream = self.to_upstream, 0
        return n

    def close(self):
        self.ls.close()


@runner.test
def node_exporter_push_bytes():
    """A real node exporter's text, served by a target that does not
    compress (the node exporter itself gzips when asked, and that is
    relayed as it is: checked last)."""
    x.require_external(x.NODE_EXPORTER)
    ne = t.start_daemon(
        "node-exporter",
        lambda ports: [x.NODE_EXPORTER,
                       "--web.listen-address=127.0.0.1:%d" % ports[0]],
        lambda d: t.http_request(d.port, "GET", "/metrics",
                                 timeout=2).status == 200,
        check_exit=False)
    text = t.http_request(ne.port, "GET", "/metrics").body
    t.check(b"node_boot_time_seconds" in text, "a node exporter body")
    target = t.TargetServer()
    target.route("/metrics", t.Route(body=text))
    proxy = t.start_proxy()
    relay = CountingRelay(proxy.port)
    wire = {}
    for mode in ("none", "gzip"):
        client = t.start_client("http://127.0.0.1:%d" % relay.port,
                                "127.0.0.1", "--push.compression=" + mode,
                                name="client-" + mode,
                                registered_at=proxy.port)
        for hp in ("127.0.0.1:%d" % target.port, "127.0.0.1:%d" % ne.port):
            t.scrape(proxy.port, hp)    # connections warmed
            time.sleep(0.3)             # the re-poll is in
            relay.take()
            resp, _ = t.scrape(proxy.port, hp)
            t.check_eq(resp.status, 200, "status (%s)" % mode)
            body = resp.body
            if header(resp, "Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if hp.endswith(":%d" % target.port):
                t.check(body == text, "the node exporter text (%s)" % mode)
            time.sleep(0.3)             # the re-poll after the push is in
            wire[(mode, hp == "127.0.0.1:%d" % ne.port)] = relay.take()
        client.stop()
    print("     node exporter text (%d bytes), client->proxy bytes per "
          "scrape (push and re-poll): identity %d, gzip by the client %d "
          "(ratio %.2f); the real node exporter gzipping itself: %d" % (
              len(text), wire[("none", False)], wire[("gzip", False)],
              wire[("none", False)] / wire[("gzip", False)],
              wire[("gzip", True)]))
    t.check(wire[("gzip", False)] * 5 <= wire[("none", False)],
            "not a fifth: %r" % wire)
    relay.close()
    proxy.stop()
    target.close()
    ne.stop()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
