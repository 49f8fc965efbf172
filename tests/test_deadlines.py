#!/usr/bin/python3
"""Deadlines that cannot be stretched, connection slots, and pipelining
back-pressure: the real pushprox-proxy on 127.0.0.1 against peers that
hold slots or memory without doing anything wrong byte by byte.

  - slowloris: connections trickling a head one byte at a time are cut at
    --web.read-header-timeout from their first byte (408), however often a
    byte arrives; one that sends nothing is closed at the same deadline
    from accept, and so is a TLS connection that never finishes its
    handshake; a keep-alive connection's next head has its own deadline
    from its first byte (idle time does not count);
  - at --web.max-connections, the connection idle longest between
    requests is closed to admit a new one; parked polls never are (with
    nothing idle, the newcomer gets 503);
  - a peer pipelining thousands of GET /metrics without reading costs the
    proxy a bounded amount of memory, other scrapes are served meanwhile,
    and --web.write-timeout ends it.

Run: PUSHPROX_PROXY=... python3 tests/test_deadlines.py [test names...]
"""

import os
import select
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402

runner = t.Runner()

HEAD_S = 2.0                  # --web.read-header-timeout in these tests
GET_KEEPALIVE = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"


def closed_or_answered(sock, timeout):
    """Waits up to timeout for sock to become readable; returns the bytes
    read then (b"" for EOF or reset), or None if nothing came."""
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return None
    try:
        return sock.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        return b""


def still_open(sock):
    """True if sock has nothing to read and no EOF right now."""
    r, _, _ = select.select([sock], [], [], 0)
    return not r


def keepalive_get(sock):
    r = t.raw_exchange(0, GET_KEEPALIVE, sock=sock, timeout=3)
    t.check_eq(r.status, 200, "keep-alive GET /metrics")
    return r


def metric(text, name):
    for fam, labels, value in t.parse_metrics(text):
        if fam == name and not labels:
            return value
    return None


def poll_bytes(fqdn):
    body = fqdn.encode()
    return (b"POST /poll HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body


# ------------------------------------------------------------ slowloris ---

@runner.test
def slowloris_heads_cut_at_header_deadline():
    max_conns = 20
    proxy = t.start_proxy("--web.max-connections=%d" % max_conns,
                          "--web.read-header-timeout=%gs" % HEAD_S,
                          "--web.read-timeout=30s", name="proxy-slowloris")
    socks = []
    try:
        # max-connections - 1 connections, each starting a head and then
        # adding a byte every 0.5 s: never inactive, never complete.
        for _ in range(max_conns - 1):
            s = t.connect(proxy.port, timeout=5)
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
            socks.append(s)
        t0 = time.monotonic()
        closed = {}
        answers = {}
        legit = None
        while time.monotonic() - t0 < HEAD_S + 2.5 and \
                len(closed) < len(socks):
            for i, s in enumerate(socks):
                if i in closed:
                    continue
                data = closed_or_answered(s, 0)
                if data is not None:
                    closed[i] = time.monotonic() - t0
                    answers[i] = data
                    continue
                try:
                    s.send(b"a")
                except OSError:
                    closed[i] = time.monotonic() - t0
                    answers[i] = b""
            if legit is None and time.monotonic() - t0 > 1.0:
                # A real request while they trickle is served at once.
                t1 = time.monotonic()
                r = t.http_request(proxy.port, "GET", "/metrics", timeout=3)
                legit = (r.status, time.monotonic() - t1)
            time.sleep(0.5)
        t.check(legit is not None, "no legitimate request was made")
        t.check_eq(legit[0], 200, "a request during the trickle")
        t.check(legit[1] < 1.0, "a request during the trickle took %.2fs"
                % legit[1])
        t.check_eq(len(closed), len(socks), "trickling connections cut "
                   "within %.1fs of --web.read-header-timeout=%gs"
                   % (HEAD_S + 2.5, HEAD_S))
        late = [v for v in closed.values() if not
                HEAD_S - 0.5 < v < HEAD_S + 1.5]
        t.check(not late, "cut after %s s, want about %gs" % (
            sorted("%.2f" % v for v in late), HEAD_S))
        with408 = [a for a in answers.values()
                   if a.startswith(b"HTTP/1.1 408")]
        t.check(len(with408) == len(socks), "want a 408 on every begun "
                "head, got %r" % sorted(set(a[:40] for a in
                                            answers.values())))
        t.check(b"read-header-timeout" in with408[0],
                "408 should name the flag: %r" % with408[0])
        # And all slots are free again.
        t.wait_for(lambda: metric(t.http_request(
            proxy.port, "GET", "/metrics", timeout=2).text(),
            "pushprox_connections") == 1, 3, "connections back to 1")
    finally:
        for s in socks:
            s.close()
    t.check(proxy.alive(), "proxy died")
    proxy.stop()


@runner.test
def silent_connection_closed_at_header_deadline():
    proxy = t.start_proxy("--web.read-header-timeout=%gs" % HEAD_S,
                          "--web.read-timeout=30s", name="proxy-silent")
    s = t.connect(proxy.port, timeout=5)
    try:
        t0 = time.monotonic()
        data = closed_or_answered(s, HEAD_S + 3)
        took = time.monotonic() - t0
        t.check(data is not None, "a silent connection still open after "
                "%.1fs" % took)
        t.check_eq(data, b"", "what a silent connection gets")
        t.check(HEAD_S - 0.5 < took < HEAD_S + 1.5, "silent connection "
                "closed after %.2fs, want about %gs" % (took, HEAD_S))
    finally:
        s.close()
    proxy.stop()


@runner.test
def keepalive_next_head_has_its_own_deadline():
    proxy = t.start_proxy("--web.read-header-timeout=%gs" % HEAD_S,
                          "--web.read-timeout=30s", name="proxy-keepalive")
    s = t.connect(proxy.port, timeout=5)
    try:
        keepalive_get(s)
        # Idle longer than the header deadline: idle time does not count.
        time.sleep(HEAD_S + 0.5)
        t.check(still_open(s), "an idle keep-alive connection was closed "
                "by the header deadline")
        keepalive_get(s)
        # The next head trickles: cut HEAD_S after its first byte.
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        t0 = time.monotonic()
        data = None
        while time.monotonic() - t0 < HEAD_S + 2 and data is None:
            data = closed_or_answered(s, 0.4)
            if data is None:
                s.send(b"X")
        took = time.monotonic() - t0
        t.check(data is not None and data.startswith(b"HTTP/1.1 408"),
                "trickled second head answered %r" % (data or b"")[:60])
        t.check(HEAD_S - 0.5 < took < HEAD_S + 1.5, "second head cut after "
                "%.2fs, want about %gs" % (took, HEAD_S))
    finally:
        s.close()
    proxy.stop()


# --------------------------------------------------------------- slots ---

@runner.test
def idle_keepalive_evicted_oldest_first():
    max_conns = 5
    proxy = t.start_proxy("--web.max-connections=%d" % max_conns,
                          name="proxy-evict")
    time.sleep(0.2)      # the readiness check's connection is gone
    conns = []
    extra = []
    try:
        for _ in range(max_conns):
            s = t.connect(proxy.port, timeout=5)
            keepalive_get(s)
            conns.append(s)
            time.sleep(0.05)
        # At the cap, with every slot idle: a newcomer is served.
        r = t.http_request(proxy.port, "GET", "/metrics", timeout=3)
        t.check_eq(r.status, 200, "a new connection at the cap (%r)"
                   % r.body[:80])
        t.check_eq(closed_or_answered(conns[0], 2), b"",
                   "the connection idle longest should be closed")
        t.check(all(still_open(s) for s in conns[1:]),
                "only the oldest idle connection should be closed")
        # Back at the cap with one kept open; conns[1] is used again, so
        # it is the newest idle, and the next newcomer closes conns[2].
        s = t.connect(proxy.port, timeout=5)
        extra.append(s)
        keepalive_get(s)
        t.check(all(still_open(s) for s in conns[1:]),
                "a connection was closed below the cap")
        keepalive_get(conns[1])
        time.sleep(0.05)
        s = t.connect(proxy.port, timeout=5)
        extra.append(s)
        keepalive_get(s)
        t.check_eq(closed_or_answered(conns[2], 2), b"",
                   "the now longest idle connection should be closed")
        t.check(still_open(conns[1]), "a connection used again was "
                "closed before older idle ones")
        keepalive_get(conns[1])
    finally:
        for s in conns + extra:
            s.close()
    t.check(proxy.alive(), "proxy died")
    proxy.stop()


@runner.test
def parked_polls_never_evicted():
    max_conns = 4
    proxy = t.start_proxy("--web.max-connections=%d" % max_conns,
                          "--poll.timeout=30s", name="proxy-polls")
    time.sleep(0.2)
    idle = t.connect(proxy.port, timeout=5)
    polls = []
    socks = [idle]
    try:
        keepalive_get(idle)
        for i in range(max_conns - 1):
            s = t.connect(proxy.port, timeout=5)
            socks.append(s)
            s.sendall(poll_bytes("parked%d.test" % i))
            polls.append(s)
        time.sleep(0.3)
        # The idle connection makes room; the polls stay.
        a = t.connect(proxy.port, timeout=5)
        socks.append(a)
        r = keepalive_get(a)
        t.check_eq(metric(r.text(), "pushprox_polls_waiting"),
                   float(max_conns - 1), "polls waiting")
        t.check_eq(closed_or_answered(idle, 2), b"",
                   "the idle keep-alive connection should be closed")
        # a becomes a parked poll too: every slot is now a parked poll.
        a.sendall(poll_bytes("parked-a.test"))
        polls.append(a)
        time.sleep(0.3)
        b = t.connect(proxy.port, timeout=5)
        socks.append(b)
        b.sendall(GET_KEEPALIVE)
        r = t.read_response(t._Reader(b, time.monotonic() + 3))
        t.check_eq(r.status, 503, "a newcomer when every slot holds a "
                   "parked poll (%r)" % r.body[:80])
        time.sleep(0.3)
        t.check(all(still_open(p) for p in polls),
                "a parked poll was closed for a newcomer")
    finally:
        for s in socks:
            s.close()
    t.check(proxy.alive(), "proxy died")
    proxy.stop()


# ---------------------------------------------------------- pipelining ---

@runner.test
def pipelining_without_reading_is_bounded():
    n = 20000
    proxy = t.start_proxy("--web.write-timeout=3s", name="proxy-pipeline")
    sanitized = t.is_sanitized(proxy.pid)
    bound = (64 if sanitized else 20) << 20
    rss0 = t.proc_status(proxy.pid)["VmRSS"]
    s = t.connect(proxy.port, timeout=5)
    try:
        s.setblocking(False)
        data = GET_KEEPALIVE * n
        off = 0
        t0 = time.monotonic()
        legit = None
        while time.monotonic() - t0 < 3.0:
            if off < len(data):
                try:
                    off += s.send(data[off:off + 65536])
                except BlockingIOError:
                    pass
            if legit is None and time.monotonic() - t0 > 1.0:
                t1 = time.monotonic()
                r = t.http_request(proxy.port, "GET", "/metrics", timeout=3)
                legit = (r.status, time.monotonic() - t1)
            time.sleep(0.005)
        time.sleep(0.5)
        growth = t.proc_status(proxy.pid)["VmRSS"] - rss0
        t.check(legit is not None and legit[0] == 200,
                "a scrape during the pipelining: %r" % (legit,))
        t.check(legit[1] < 0.5, "a scrape during the pipelining took %.2fs"
                % legit[1])
        t.check(growth < bound, "proxy RSS grew by %.1f MB for %d pipelined "
                "requests not read (bound %d MB)" % (growth / 1e6,
                                                    off // len(GET_KEEPALIVE),
                                                    bound >> 20))
        # The peer never reads: --web.write-timeout ends the connection.
        t.wait_for(lambda: metric(t.http_request(
            proxy.port, "GET", "/metrics", timeout=2).text(),
            "pushprox_connections") == 1, 8,
            "the non-reading connection to be closed by the write timeout")
    finally:
        s.close()
    t.check(proxy.alive(), "proxy died")
    proxy.stop()


@runner.test
def pipelined_requests_all_answered_when_read():
    # Back-pressure must not lose requests: a peer that pipelines many and
    # then reads gets every answer, in order.
    n = 3000
    proxy = t.start_proxy(name="proxy-pipeline-read")
    s = t.connect(proxy.port, timeout=10)
    try:
        s.sendall(GET_KEEPALIVE * (n - 1) + b"GET /metrics HTTP/1.1\r\n"
                  b"Host: x\r\nConnection: close\r\n\r\n")
        time.sleep(1.0)      # let the proxy hit the high-water mark
        reader = t._Reader(s, time.monotonic() + 20)
        got = 0
        for _ in range(n):
            r = t.read_response(reader)
            t.check_eq(r.status, 200, "pipelined answer %d" % got)
            got += 1
        t.check_eq(got, n, "answers")
    finally:
        s.close()
    proxy.stop()


# ----------------------------------------------------------------- TLS ---

@runner.test
def tls_handshake_cut_at_header_deadline():
    folder = tempfile.mkdtemp(prefix="pushprox-deadlines-")
    pki = t.PKI(os.path.join(folder, "pki"))
    pki.ca("ca", "pushprox test CA")
    pki.issue("server", "ca", "localhost", dns=["localhost"],
              ips=["127.0.0.1"], server=True, client=False)
    wc = os.path.join(pki.dir, "web.yml")
    with open(wc, "w") as f:
        f.write("tls_server_config:\n  cert_file: server.crt\n"
                "  key_file: server.key\n")
    ctx = t.tls_context(pki.crt("ca"))
    proxy = t.start_tls_proxy(wc, "--web.read-header-timeout=%gs" % HEAD_S,
                              "--web.read-timeout=30s", ctx=ctx,
                              name="proxy-tls")
    try:
        # Nothing sent, and half a ClientHello: both closed at the deadline.
        for what, first in (("no ClientHello", b""),
                            ("half a ClientHello", b"\x16\x03\x01\x02\x00"
                             b"\x01\x00\x01\xfc\x03\x03")):
            s = t.connect(proxy.port, timeout=5)
            try:
                if first:
                    s.sendall(first)
                t0 = time.monotonic()
                data = closed_or_answered(s, HEAD_S + 3)
                took = time.monotonic() - t0
                t.check(data is not None, "%s: still open after %.1fs"
                        % (what, took))
                t.check(HEAD_S - 0.5 < took < HEAD_S + 1.5, "%s: closed "
                        "after %.2fs, want about %gs" % (what, took, HEAD_S))
            finally:
                s.close()
        # A real TLS request is still served.
        r = t.https_request(proxy.port, ctx, "GET", "/metrics", timeout=3)
        t.check_eq(r.status, 200, "TLS request")
    finally:
        proxy.stop()


if __name__ == "__main__":
    t.require_binaries(t.PROXY)
    sys.exit(runner.run())
