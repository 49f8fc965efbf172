#!/usr/bin/python3
"""Soak test: one pushprox-proxy, many real pushprox-client processes,
each scraped every second for --duration seconds while faults are
injected at random: clients SIGKILLed and restarted, targets answering
errors or too slowly, scrapers hanging up mid-scrape, large bodies.

Every client registers under its own loopback address (127.0.0.2,
127.0.0.3, ...), where an in-process target listens (one selector thread
serves them all), so no name needs to resolve and every scrape's answer
can be checked: each body names its client address and the scrape's own
sequence number in every line.

At the end it prints the scrapes, the successes, the expected failures by
cause, the failures nothing explains, the WRONG answers (a body or an
error belonging to another scrape, or a 200 with bytes that are not the
target's: must be 0), and the proxy's RSS and open descriptors at the
start and the end.  It exits non-zero on any wrong answer, on a leak
(RSS or descriptors grown beyond noise, scrapes or polls left over in the
proxy's gauges), on unexplained failures above --max-unexplained, or if
a client does not recover after the faults stop.

Not part of CI (it runs for minutes):
    python3 tests/soak.py --duration 600 --clients 200
    python3 tests/soak.py --duration 60            # a smoke run
Binaries from PUSHPROX_PROXY / PUSHPROX_CLIENT (default build/...).
Needs about 3 descriptors per client in this process and one client
process per client; stays within a 20,000-descriptor limit up to ~1000
clients.
"""

import argparse
import gzip
import heapq
import os
import random
import re
import selectors
import shutil
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402

MiB = 1024 * 1024

# Scrape modes: what the target does with the scrape, and how likely it is.
MODES = [
    ("ok", 0.86),           # answers at once
    ("slowok", 0.03),       # answers after 0.4s, within the timeout
    ("big", 0.02),          # a ~300 KiB body
    ("error", 0.04),        # answers 503 with its own error text
    ("slow", 0.02),         # answers after the scrape timeout
    ("disconnect", 0.03),   # the scraper hangs up while the target waits
]
SCRAPE_TIMEOUT = 2.0        # X-Prometheus-Scrape-Timeout-Seconds
SLOW_DELAY = 3.0            # "slow": past the timeout
SLOWOK_DELAY = 0.4
DISCONNECT_DELAY = 0.6      # target delay in "disconnect" mode
DISCONNECT_AFTER = 0.2      # the scraper hangs up this long after sending
RESTART_GRACE = 3.0         # a restarted client may fail this long
IDLE_TIMEOUT = 5.0          # proxy --web.idle-timeout


def pick_mode(rng):
    x = rng.random()
    for name, p in MODES:
        if x < p:
            return name
        x -= p
    return "ok"


def expected_body(ip, seq, mode):
    lines = 3000 if mode == "big" else 5 + seq % 40
    head = b"# soak target %s\nsoak_up{ip=\"%s\",seq=\"%d\"} 1\n" % (
        ip.encode(), ip.encode(), seq)
    return head + b"".join(
        b"soak_line{ip=\"%s\",seq=\"%d\",n=\"%d\"} %d\n" % (
            ip.encode(), seq, n, (seq * 31 + n) % 9973)
        for n in range(lines))


def error_body(ip, seq):
    return b"soak target error ip=%s seq=%d\n" % (ip.encode(), seq)


# --------------------------------------------------------------- target ---

class Targets:
    """One listener per client address, all on the same port, served by
    one selector thread.  GET /metrics?seq=N&mode=M; answers with
    Connection: close after the mode's delay."""

    def __init__(self, ips, lifetime):
        self.ips = ips
        self.lifetime = lifetime    # the thread ends by then at the latest
        self.sel = selectors.DefaultSelector()
        self.stop_event = threading.Event()
        self.timers = []        # (due, n, conn)
        self.n = 0
        self.served = 0
        self.listeners = []
        self.port = self._bind_all()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _bind_all(self):
        for attempt in range(50):
            port = t.free_port()
            socks = []
            try:
                for ip in self.ips:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    socks.append(s)
                    s.bind((ip, port))
                    s.listen(256)
                    s.setblocking(False)
            except OSError:
                for s in socks:
                    s.close()
                continue
            for s in socks:
                self.sel.register(s, selectors.EVENT_READ, ("listen", None))
            self.listeners = socks
            return port
        raise RuntimeError("no port free on all %d addresses" % len(self.ips))

    def _answer(self, st):
        m = re.match(rb"GET /metrics\?seq=(\d+)&mode=(\w+) HTTP/1\.[01]\r\n",
                     st["buf"])
        ip = st["ip"]
        if not m:
            body = b"bad request\n"
            return 0.0, (b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (len(body), body))
        seq, mode = int(m.group(1)), m.group(2).decode()
        delay = {"slow": SLOW_DELAY, "slowok": SLOWOK_DELAY,
                 "disconnect": DISCONNECT_DELAY}.get(mode, 0.0)
        if mode == "error":
            body = error_body(ip, seq)
            status = b"503 Service Unavailable"
        else:
            body = expected_body(ip, seq, mode)
            status = b"200 OK"
        return delay, (b"HTTP/1.1 %s\r\nContent-Type: text/plain; "
                       b"version=0.0.4\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n" % (status, len(body))
                       + body)

    def _close(self, conn):
        try:
            self.sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _run(self):
        end = time.monotonic() + self.lifetime
        while not self.stop_event.is_set() and time.monotonic() < end:
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, conn, st = heapq.heappop(self.timers)
                st["state"] = "write"
                try:
                    self.sel.register(conn, selectors.EVENT_WRITE, st)
                except (KeyError, ValueError, OSError):
                    self._close(conn)
            wait = 0.05
            if self.timers:
                wait = max(0.0, min(wait, self.timers[0][0] - now))
            for key, ev in self.sel.select(wait):
                st = key.data
                if isinstance(st, tuple):       # a listener
                    for _ in range(64):
                        try:
                            conn, _ = key.fileobj.accept()
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            break
                        conn.setblocking(False)
                        ip = key.fileobj.getsockname()[0]
                        self.sel.register(conn, selectors.EVENT_READ, {
                            "state": "read", "buf": b"", "ip": ip,
                            "out": b""})
                    continue
                conn = key.fileobj
                try:
                    if st["state"] == "read":
                        data = conn.recv(65536)
                        if not data:
                            self._close(conn)
                            continue
                        st["buf"] += data
                        if b"\r\n\r\n" in st["buf"]:
                            delay, st["out"] = self._answer(st)
                            self.sel.unregister(conn)
                            self.n += 1
                            heapq.heappush(self.timers, (
                                time.monotonic() + delay, self.n, conn, st))
                        elif len(st["buf"]) > 65536:
                            self._close(conn)
                    elif st["state"] == "write":
                        sent = conn.send(st["out"])
                        st["out"] = st["out"][sent:]
                        if not st["out"]:
                            self.served += 1
                            self._close(conn)
                except OSError:
                    self._close(conn)

    def close(self):
        self.stop_event.set()
        self.thread.join(5)
        for _, _, conn, _ in self.timers:
            conn.close()
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


# -------------------------------------------------------------- scraper ---

class Scrape:
    __slots__ = ("i", "ip", "seq", "mode", "start", "end", "sock", "out",
                 "buf", "hangup_at", "deadline", "result", "detail")


class Scraper:
    """Scrapes every client once a second through the proxy (spread over
    the second), with a selector; classifies every answer."""

    def __init__(self, proxy_port, ips, target_port, rng, book, lifetime):
        self.lifetime = lifetime
        self.proxy_port = proxy_port
        self.ips = ips
        self.target_port = target_port
        self.rng = rng
        self.book = book
        self.sel = selectors.DefaultSelector()
        self.stop_event = threading.Event()
        self.faults = threading.Event()     # inject target/scraper faults
        self.running = threading.Event()    # start new scrapes
        self.seq = 0
        self.open = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _begin(self, i):
        sc = Scrape()
        self.seq += 1
        sc.i, sc.ip, sc.seq = i, self.ips[i], self.seq
        sc.mode = pick_mode(self.rng) if self.faults.is_set() else "ok"
        sc.start = time.monotonic()
        sc.end = None
        sc.buf = bytearray()
        sc.hangup_at = (sc.start + DISCONNECT_AFTER
                        if sc.mode == "disconnect" else None)
        sc.deadline = sc.start + SCRAPE_TIMEOUT + 3.0
        sc.result = sc.detail = None
        hp = "%s:%d" % (sc.ip, self.target_port)
        sc.out = t.scrape_request_bytes(
            hp, "/metrics?seq=%d&mode=%s" % (sc.seq, sc.mode),
            timeout_s=SCRAPE_TIMEOUT)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        sc.sock = s
        err = s.connect_ex(("127.0.0.1", self.proxy_port))
        if err not in (0, 115):
            s.close()
            sc.end = time.monotonic()
            self.book.finish(sc, None, "connect: %s" % os.strerror(err))
            return
        self.sel.register(s, selectors.EVENT_WRITE, sc)
        self.open += 1

    def _end(self, sc, raw, err):
        try:
            self.sel.unregister(sc.sock)
        except (KeyError, ValueError):
            pass
        sc.sock.close()
        self.open -= 1
        sc.end = time.monotonic()
        self.book.finish(sc, raw, err)

    def _run(self):
        n = len(self.ips)
        t0 = time.monotonic()
        end = t0 + self.lifetime
        nxt = [t0 + i / n for i in range(n)]
        order = [(nxt[i], i) for i in range(n)]
        heapq.heapify(order)
        hangups = []
        for _ in range(10 ** 9):
            if self.stop_event.is_set() or time.monotonic() > end:
                break
            now = time.monotonic()
            while order and order[0][0] <= now:
                due, i = heapq.heappop(order)
                if self.running.is_set():
                    self._begin(i)
                # Next second; skip missed ticks rather than bunch up.
                nd = due + 1.0
                if nd < now:
                    nd = now + self.rng.random()
                heapq.heappush(order, (nd, i))
            # Hang-ups and deadlines of open scrapes.
            for key in list(self.sel.get_map().values()):
                sc = key.data
                if sc.hangup_at is not None and now >= sc.hangup_at:
                    self._end(sc, None, "hung up")
                elif now >= sc.deadline:
                    self._end(sc, bytes(sc.buf) or None,
                              "no answer within %.0fs" % (
                                  SCRAPE_TIMEOUT + 3.0))
            wait = max(0.0, min(0.02, order[0][0] - now if order else 0.02))
            for key, ev in self.sel.select(wait):
                sc = key.data
                try:
                    if ev & selectors.EVENT_WRITE:
                        sent = sc.sock.send(sc.out)
                        sc.out = sc.out[sent:]
                        if not sc.out:
                            self.sel.modify(sc.sock, selectors.EVENT_READ, sc)
                    elif ev & selectors.EVENT_READ:
                        data = sc.sock.recv(262144)
                        if data:
                            sc.buf += data
                        else:
                            self._end(sc, bytes(sc.buf), None)
                except OSError as e:
                    self._end(sc, bytes(sc.buf) or None, "socket: %s" % e)
        for key in list(self.sel.get_map().values()):
            self._end(key.data, None, "soak stopped")
        self.sel.close()

    def close(self):
        self.stop_event.set()
        self.thread.join(10)


# ---------------------------------------------------------- accounting ---

SEQ_RE = re.compile(rb'seq="?(\d+)')
IP_RE = re.compile(rb'ip="?(127\.\d+\.\d+\.\d+)')


class Book:
    """Classifies each finished scrape."""

    def __init__(self, nclients):
        self.lock = threading.Lock()
        self.scrapes = 0
        self.successes = 0
        self.expected = {}
        self.unexplained = {}
        self.unexplained_examples = []
        self.wrong = []
        self.per_client_ok = [0] * nclients
        self.windows = [[] for _ in range(nclients)]   # (from, to)
        self.ignore = False

    def disturb(self, i, t_from, t_to):
        with self.lock:
            self.windows[i].append([t_from, t_to])

    def set_window_end(self, i, t_to):
        with self.lock:
            if self.windows[i]:
                self.windows[i][-1][1] = t_to

    def _disturbed(self, sc):
        for a, b in self.windows[sc.i]:
            if sc.start <= b and sc.end >= a:
                return True
        return False

    def _count(self, d, key):
        d[key] = d.get(key, 0) + 1

    def _foreign(self, sc, body):
        """A body mentioning another scrape's sequence number or client."""
        for m in SEQ_RE.finditer(body):
            if int(m.group(1)) != sc.seq:
                return True
        for m in IP_RE.finditer(body):
            if m.group(1).decode() != sc.ip:
                return True
        return False

    def finish(self, sc, raw, err):
        resp = None
        if raw:
            try:
                resp, _ = t.parse_response_bytes(raw)
                # Prometheus sends Accept-Encoding: gzip, so the client
                # may push a gzip body; compare what Prometheus would read.
                if resp.header("Content-Encoding", "").lower() == "gzip":
                    resp.body = gzip.decompress(resp.body)
            except Exception as e:  # a truncated or undecodable answer
                if err is None:
                    err = "unparsable answer: %s" % e
        with self.lock:
            if self.ignore:
                return
            self.scrapes += 1
            disturbed = self._disturbed(sc)
            if resp is not None and resp.status == 200:
                if resp.body == expected_body(sc.ip, sc.seq, sc.mode) and \
                        sc.mode not in ("error", "slow", "disconnect"):
                    self.successes += 1
                    self.per_client_ok[sc.i] += 1
                    return
                if resp.body == expected_body(sc.ip, sc.seq, sc.mode):
                    # Right bytes, but the mode should have failed (e.g. a
                    # "slow" answer relayed after its timeout).
                    self._count(self.unexplained, "200 in mode %s" % sc.mode)
                    return
                self.wrong.append("scrape seq=%d of %s mode %s: 200 with %d "
                                  "bytes, not the target's (%r...)" % (
                                      sc.seq, sc.ip, sc.mode, len(resp.body),
                                      resp.body[:120]))
                return
            if resp is not None and self._foreign(sc, resp.body):
                self.wrong.append("scrape seq=%d of %s mode %s: %d with "
                                  "another scrape's text %r" % (
                                      sc.seq, sc.ip, sc.mode, resp.status,
                                      resp.body[:200]))
                return
            if sc.mode == "disconnect":
                self._count(self.expected, "scraper hung up mid-scrape")
                return
            if sc.mode == "error":
                if resp is not None and resp.status == 503 and \
                        resp.body == error_body(sc.ip, sc.seq):
                    self._count(self.expected, "target error (its 503 "
                                "relayed)")
                    return
            if sc.mode == "slow" and resp is not None and \
                    resp.status in (500, 504) and b"timed out" in resp.body:
                self._count(self.expected, "target too slow (timed out)")
                return
            if disturbed and (resp is None or resp.status >= 500):
                self._count(self.expected, "client killed or restarting")
                return
            key = ("%d %s" % (resp.status, resp.body[:60].decode(
                "utf-8", "replace").strip()) if resp is not None
                else "no answer: %s" % err)
            key = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "ID", key)
            key = re.sub(r"127\.0\.\d+\.\d+", "IP", key)
            key = re.sub(r"\d+", "N", key)
            self._count(self.unexplained, "mode %s: %s" % (sc.mode, key))
            if len(self.unexplained_examples) < 10:
                self.unexplained_examples.append(
                    "seq=%d client %s mode %s took %.2fs: %s" % (
                        sc.seq, sc.ip, sc.mode, sc.end - sc.start,
                        repr(resp) if resp is not None else err))


# ---------------------------------------------------------------- soak ---

def proxy_sample(proxy, label):
    st = t.proc_status(proxy.pid)
    return {"label": label, "rss": st["VmRSS"], "hwm": st["VmHWM"],
            "fds": t.fd_count(proxy.pid)}


def start_client(proxy_port, ip, idx, gen):
    def argv(ports):
        return [t.CLIENT, "--proxy-url=http://127.0.0.1:%d/" % proxy_port,
                "--fqdn=" + ip, "--metrics-addr=",
                "--proxy.retry.initial-wait=200ms",
                "--proxy.retry.max-wait=2s",
                "--scrape.max-concurrency=16",
                "--log.level=info"]
    return t.start_daemon("client-%03d-%d" % (idx, gen), argv,
                          lambda d: True, nports=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=600,
                    help="seconds of scraping with faults (default 600)")
    ap.add_argument("--clients", type=int, default=200,
                    help="client processes (default 200, at most 250)")
    ap.add_argument("--kill-rate", type=float, default=0.2,
                    help="client SIGKILLs per second (default 0.2)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-unexplained", type=float, default=0.001,
                    help="fraction of scrapes that may fail for no injected "
                    "reason (default 0.001)")
    ap.add_argument("--rss-slack-mib", type=float, default=8.0,
                    help="RSS growth tolerated, MiB (default 8)")
    ap.add_argument("--fd-slack", type=int, default=16,
                    help="descriptor growth tolerated (default 16)")
    args = ap.parse_args()
    if not 1 <= args.clients <= 250:
        ap.error("--clients must be 1..250 (one loopback address each)")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    t.require_binaries(t.PROXY, t.CLIENT)
    ips = ["127.0.0.%d" % (2 + i) for i in range(args.clients)]
    print("soak: %d clients, %.0fs of faults, seed %d, logs in %s" % (
        args.clients, args.duration, seed, t.LOGDIR.get()), flush=True)

    targets = Targets(ips, args.duration + 600)
    # A short idle timeout: keep-alive connections left idle are closed
    # (racing with the clients reusing them: one more fault), and when
    # the load pauses only the parked polls remain, so the descriptor
    # counts at the start and the end compare like with like.
    proxy = t.start_proxy("--poll.timeout=30s",
                          "--web.idle-timeout=%gs" % IDLE_TIMEOUT,
                          name="proxy", log_level="info")
    clients = [start_client(proxy.port, ip, i, 0)
               for i, ip in enumerate(ips)]
    gens = [0] * len(ips)
    t.wait_for(lambda: len(t.client_fqdns(proxy.port)) == len(ips), 60,
               "all %d clients in /clients" % len(ips), interval=0.5)
    print("all %d clients registered" % len(ips), flush=True)

    book = Book(len(ips))
    scraper = Scraper(proxy.port, ips, targets.port, rng, book,
                      args.duration + 600)
    scraper.start()

    def quiesce(what):
        scraper.running.clear()
        t.wait_for(lambda: scraper.open == 0, SCRAPE_TIMEOUT + 6,
                   "open scrapes to finish (%s)" % what)
        # Pushes of abandoned scrapes land, idle connections close.
        time.sleep(max(SLOW_DELAY, IDLE_TIMEOUT) + 1.5)

    # Warm-up without faults, then the baseline.
    scraper.running.set()
    time.sleep(5)
    quiesce("warm-up")
    start = proxy_sample(proxy, "start")
    base_ok = list(book.per_client_ok)
    warm = (book.scrapes, book.successes)
    with book.lock:
        book.scrapes = book.successes = 0
        book.expected.clear()

    # Faults.
    scraper.faults.set()
    scraper.running.set()
    kills = restarts = 0
    down = {}           # client index -> restart due time
    t_end = time.monotonic() + args.duration
    last_report = time.monotonic()
    for _ in range(int(args.duration * 20) + 100):
        now = time.monotonic()
        if now >= t_end:
            break
        for i, due in list(down.items()):
            if now >= due:
                gens[i] += 1
                clients[i] = start_client(proxy.port, ips[i], i, gens[i])
                restarts += 1
                book.set_window_end(i, time.monotonic() + RESTART_GRACE)
                del down[i]
        if rng.random() < args.kill_rate / 20.0:
            i = rng.randrange(len(ips))
            if i not in down:
                book.disturb(i, time.monotonic(), float("inf"))
                clients[i].kill(signal.SIGKILL)
                clients[i].stop()       # closes its log
                kills += 1
                down[i] = time.monotonic() + rng.uniform(0.2, 3.0)
        if now - last_report >= 30:
            last_report = now
            with book.lock:
                print("  %4.0fs: %d scrapes, %d ok, %d wrong, %d unexplained, "
                      "proxy RSS %.1f MiB, %d fds" % (
                          args.duration - (t_end - now), book.scrapes,
                          book.successes, len(book.wrong),
                          sum(book.unexplained.values()),
                          t.proc_status(proxy.pid)["VmRSS"] / MiB,
                          t.fd_count(proxy.pid)), flush=True)
        time.sleep(0.05)

    # Stop the faults, bring every client back, check every client is
    # scraped successfully again.
    scraper.faults.clear()
    for i in list(down):
        gens[i] += 1
        clients[i] = start_client(proxy.port, ips[i], i, gens[i])
        restarts += 1
        book.set_window_end(i, time.monotonic() + RESTART_GRACE)
    down.clear()
    quiesce("end of faults")
    before = list(book.per_client_ok)
    scraper.running.set()
    time.sleep(RESTART_GRACE + 3)
    quiesce("recovery")
    not_recovered = [ips[i] for i in range(len(ips))
                     if book.per_client_ok[i] - before[i] < 1]
    with book.lock:
        book.ignore = True
    scraper.close()
    time.sleep(1.0)
    end = proxy_sample(proxy, "end")
    samples = t.metrics_of(proxy.port)
    gauges = {g: t.metric_value(samples, g) for g in (
        "pushprox_scrapes_in_flight", "pushprox_scrapes_queued",
        "pushprox_polls_waiting", "pushprox_proxy_clients",
        "pushprox_connections")}

    def by_outcome(name):
        return {lab.get("outcome"): int(v) for n, lab, v in samples
                if n == name}

    # Report.
    print()
    print("soak of %.0fs with %d clients (seed %d)" % (args.duration,
                                                       len(ips), seed))
    print("warm-up: %d scrapes, %d ok" % warm)
    print("scrapes: %d" % book.scrapes)
    print("successes: %d" % book.successes)
    print("expected failures by cause:")
    for k, v in sorted(book.expected.items(), key=lambda kv: -kv[1]):
        print("  %-36s %d" % (k, v))
    nun = sum(book.unexplained.values())
    print("unexplained failures: %d" % nun)
    for k, v in sorted(book.unexplained.items(), key=lambda kv: -kv[1]):
        print("  %-60s %d" % (k[:60], v))
    for ex in book.unexplained_examples[:5]:
        print("    e.g. " + ex[:300])
    print("WRONG answers: %d" % len(book.wrong))
    for w in book.wrong[:10]:
        print("    " + w[:300])
    print("client kills: %d, restarts: %d" % (kills, restarts))
    print("clients not scraped successfully after the faults stopped: %d%s"
          % (len(not_recovered), (" " + ", ".join(not_recovered[:10]))
             if not_recovered else ""))
    print("proxy RSS: start %.1f MiB, end %.1f MiB (peak %.1f MiB); open "
          "fds: start %d, end %d" % (start["rss"] / MiB, end["rss"] / MiB,
                                     end["hwm"] / MiB, start["fds"],
                                     end["fds"]))
    print("proxy gauges at the end: " + ", ".join(
        "%s=%g" % (k.replace("pushprox_", ""), v) for k, v in gauges.items()))
    print("proxy scrapes by outcome: %s" % by_outcome(
        "pushprox_scrapes_total"))
    print("proxy pushes by outcome: %s" % by_outcome("pushprox_pushes_total"))
    print("proxy polls by outcome: %s" % by_outcome("pushprox_polls_total"))

    problems = []
    if book.wrong:
        problems.append("%d wrong answers" % len(book.wrong))
    if book.scrapes and nun > args.max_unexplained * book.scrapes:
        problems.append("%d unexplained failures (over %.2f%% of scrapes)"
                        % (nun, 100 * args.max_unexplained))
    if not_recovered:
        problems.append("%d clients not recovered" % len(not_recovered))
    asan = t.is_sanitized(proxy.pid)
    rss_limit = start["rss"] * 1.10 + args.rss_slack_mib * MiB
    if end["rss"] > rss_limit and not asan:
        problems.append("proxy RSS grew from %.1f to %.1f MiB" % (
            start["rss"] / MiB, end["rss"] / MiB))
    if end["fds"] > start["fds"] + args.fd_slack:
        problems.append("proxy fds grew from %d to %d" % (start["fds"],
                                                          end["fds"]))
    if gauges["pushprox_scrapes_in_flight"] or \
            gauges["pushprox_scrapes_queued"]:
        problems.append("scrapes left in the proxy: %s" % gauges)
    if gauges["pushprox_polls_waiting"] > len(ips):
        problems.append("more polls waiting (%g) than clients (%d)" % (
            gauges["pushprox_polls_waiting"], len(ips)))
    if not proxy.alive():
        problems.append("the proxy died")

    for c in clients:
        c.stop()
    code = proxy.stop()
    targets.close()
    if code != 0:
        problems.append("proxy exit code %s on SIGTERM" % code)
    if problems:
        print("SOAK FAILED: " + "; ".join(problems))
        print("logs kept in %s" % t.LOGDIR.get())
        return 1
    print("SOAK PASSED")
    if not t.LOGDIR.keep:
        shutil.rmtree(t.LOGDIR.get(), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
