"""The peers the daemons talk to, played in-process on 127.0.0.1 with
ephemeral ports, each in a thread: TargetServer (an HTTP target serving a
Route per path: bodies, statuses, delays, gzip, chunked, or a writer of
its own, recording what it saw), FakeProxy (the reference Go proxy's side
of the protocol, for our client), Middlebox (a TCP relay cutting idle
connections with an HTML 504, as a load balancer does), and big bodies
streamed block by block (streaming_writer, chunked_writer, big_digest).
"""

import atexit
import gzip
import hashlib
import http.server
import selectors
import socket
import threading
import time
import urllib.parse

from .rawhttp import Request
from .runner import TestFailure

__all__ = [
    "Route", "TargetServer", "FakeProxy", "Middlebox", "MIDDLEBOX_PAGE",
    "BIG_BLOCK", "big_block", "big_digest", "streaming_writer",
    "chunked_writer",
]


# ------------------------------------------------------ target server ---

class Route:
    """What the target serves at one path.

    body may be bytes or a function(handler) -> bytes (called per request).
    writer, if given, is a function(handler) that writes the whole
    response itself (status line, headers, body: e.g. a streamed body too
    large to build in memory); body, status and the rest are then unused.
    """

    def __init__(self, body=b"", status=200, headers=None, delay=0.0,
                 gzip_body=False, chunked=False,
                 content_type="text/plain; version=0.0.4; charset=utf-8",
                 writer=None):
        self.body = body
        self.status = status
        self.headers = list(headers or [])
        self.delay = delay
        self.gzip_body = gzip_body
        self.chunked = chunked
        self.content_type = content_type
        self.writer = writer


class _TargetHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pushprox-test-target"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        srv = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        with srv.lock:
            srv.requests.append(Request(self.command, self.path,
                                        self.request_version,
                                        list(self.headers.items()), b""))
            route = srv.routes.get(path, srv.default_route)
        if route is None:
            body = b"no route for " + path.encode() + b"\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if route.delay:
            srv.stop_event.wait(route.delay)
        if route.writer is not None:
            try:
                route.writer(self)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        body = route.body(self) if callable(route.body) else route.body
        encoded = body
        accept_enc = self.headers.get("Accept-Encoding", "")
        gz = route.gzip_body and "gzip" in accept_enc
        if gz:
            encoded = gzip.compress(body, mtime=0)
        with srv.lock:
            srv.sent.append(encoded)
        try:
            self.send_response(route.status)
            if route.content_type:
                self.send_header("Content-Type", route.content_type)
            if gz:
                self.send_header("Content-Encoding", "gzip")
            for k, v in route.headers:
                self.send_header(k, v)
            if route.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                step = max(1, len(encoded) // 3)
                for i in range(0, len(encoded), step):
                    part = encoded[i:i + step]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128    # listen backlog: concurrent scrapes

    def handle_error(self, request, client_address):
        pass


class TargetServer:
    """An HTTP target on 127.0.0.1:<ephemeral>, in a thread."""

    def __init__(self, backlog=None, host="127.0.0.1"):
        """backlog: listen queue length (default 128); raise it for many
        concurrent scrapes.  host: the loopback address to bind."""
        self.lock = threading.Lock()
        self.routes = {}
        self.default_route = None
        self.requests = []
        self.sent = []
        self.stop_event = threading.Event()
        server_cls = _QuietServer
        if backlog is not None:
            server_cls = type("_BacklogServer", (_QuietServer,),
                              {"request_queue_size": backlog})
        self.httpd = server_cls((host, 0), _TargetHandler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def route(self, path, route):
        with self.lock:
            self.routes[path] = route

    def clear(self):
        with self.lock:
            self.requests = []
            self.sent = []

    def requests_for(self, path):
        with self.lock:
            return [r for r in self.requests
                    if urllib.parse.urlsplit(r.target).path == path]

    def close(self):
        if not self.stop_event.is_set():
            self.stop_event.set()
            self.httpd.shutdown()
            self.httpd.server_close()


# --------------------------------------------------------- fake proxy ---

class FakeProxy:
    """Speaks the reference Go PushProx proxy's side of the protocol.

    poll_answers: a list of (status, body bytes, headers) popped one per
    POST /poll; once empty, polls are held (at most hold seconds, or until
    close) and then answered 204.  Records poll bodies and push bodies.
    """

    def __init__(self, poll_answers=None, hold=30.0):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.poll_answers = list(poll_answers or [])
        self.polls = []           # raw bodies of POST .../poll
        self.poll_paths = []
        self.pushes = []          # raw bodies of POST .../push
        self.push_paths = []
        self.push_headers = []
        self.hold = hold
        self.stop_event = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self._body()
                try:
                    if self.path.endswith("/poll"):
                        with owner.cond:
                            owner.polls.append(body)
                            owner.poll_paths.append(self.path)
                            owner.cond.notify_all()
                            ans = (owner.poll_answers.pop(0)
                                   if owner.poll_answers else None)
                        if ans is None:
                            owner.stop_event.wait(owner.hold)
                            self._answer(204)
                        else:
                            self._answer(*ans)
                    elif self.path.endswith("/push"):
                        with owner.cond:
                            owner.pushes.append(body)
                            owner.push_paths.append(self.path)
                            owner.push_headers.append(
                                list(self.headers.items()))
                            owner.cond.notify_all()
                        self._answer(200)
                    else:
                        self._answer(404, b"not found\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("fake proxy: timed out after %.1fs "
                                      "waiting for %s" % (timeout, what))
                self.cond.wait(left)

    def close(self):
        if not self.stop_event.is_set():
            self.stop_event.set()
            self.httpd.shutdown()
            self.httpd.server_close()


# --------------------------------------------------------- middlebox ---

MIDDLEBOX_PAGE = (b"<html>\r\n<head><title>504 Gateway Time-out</title></head>"
                  b"\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1>"
                  b"</center>\r\n</body>\r\n</html>\r\n")


class Middlebox:
    """A TCP relay (think load balancer or NAT) between client and proxy
    that cuts a connection idle for idle_s seconds.  If a request was
    outstanding (the client sent bytes since the proxy last did), it
    first answers the client an HTML 504 page, as nginx or an AWS ELB
    would."""

    def __init__(self, upstream_port, idle_s):
        self.upstream = upstream_port
        self.idle_s = idle_s
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.cuts = 0
        self.pages = 0
        self.conns = 0
        self.lifetime = 300.0   # no thread of ours outlives this
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.lsock.settimeout(0.1)
        self.port = self.lsock.getsockname()[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        end = time.monotonic() + self.lifetime
        while not self.stop_event.is_set() and time.monotonic() < end:
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream),
                                             timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += 1
            th = threading.Thread(target=self._pump, args=(c, u),
                                  daemon=True)
            th.start()

    def _pump(self, c, u):
        sel = selectors.DefaultSelector()
        c.setblocking(False)
        u.setblocking(False)
        sel.register(c, selectors.EVENT_READ, u)
        sel.register(u, selectors.EVENT_READ, c)
        last = time.monotonic()
        pending = False         # a request awaits its answer
        end = last + self.lifetime
        try:
            while not self.stop_event.is_set() and time.monotonic() < end:
                idle = time.monotonic() - last
                if idle >= self.idle_s:
                    with self.lock:
                        self.cuts += 1
                        if pending:
                            self.pages += 1
                    if pending:
                        c.setblocking(True)
                        c.settimeout(1)
                        c.sendall(
                            b"HTTP/1.1 504 Gateway Time-out\r\n"
                            b"Server: middlebox\r\n"
                            b"Content-Type: text/html\r\n"
                            b"Content-Length: %d\r\n"
                            b"Connection: close\r\n\r\n%s" % (
                                len(MIDDLEBOX_PAGE), MIDDLEBOX_PAGE))
                    return
                for key, _ in sel.select(min(0.05, self.idle_s - idle)):
                    src, dst = key.fileobj, key.data
                    data = src.recv(65536)
                    if not data:
                        return
                    dst.setblocking(True)
                    dst.settimeout(2)
                    dst.sendall(data)
                    dst.setblocking(False)
                    pending = src is c
                    last = time.monotonic()
        except OSError:
            return
        finally:
            sel.close()
            c.close()
            u.close()

    def close(self):
        self.stop_event.set()
        self.lsock.close()
        self.threads[0].join(2)


# ----------------------------------------------------------- big bodies ---

BIG_BLOCK = 1024 * 1024    # one block of a streamed body (1 MiB)
_BASE = []                 # the block's text, built on first use


def _make_base_block():
    """1 MiB of distinct metric lines, built once."""
    if _BASE:
        return _BASE[0]
    lines = []
    n = 0
    size = 0
    while size < BIG_BLOCK:
        line = b"big_metric{series=\"%07d\",pad=\"abcdefghij\"} %d\n" % (
            n, n * 7919 % 100003)
        lines.append(line)
        size += len(line)
        n += 1
    _BASE.append(b"".join(lines)[:BIG_BLOCK])
    return _BASE[0]


def big_block(i):
    """Block i of the streamed body: distinct per block, so a reordered or
    repeated block changes the hash."""
    prefix = b"# block %08d\n" % i
    return prefix + _make_base_block()[len(prefix):]


def big_digest(nblocks):
    h = hashlib.sha256()
    for i in range(nblocks):
        h.update(big_block(i))
    return h.hexdigest()


def streaming_writer(nblocks):
    """A Route writer sending nblocks MiB with Content-Length, block by
    block (the body is never built in memory)."""
    def write(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain; version=0.0.4")
        h.send_header("Content-Length", str(nblocks * BIG_BLOCK))
        h.end_headers()
        for i in range(nblocks):
            h.wfile.write(big_block(i))
        h.wfile.flush()
    return write


def chunked_writer(nblocks):
    """Like streaming_writer, but chunked: no length known up front."""
    def write(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain; version=0.0.4")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for i in range(nblocks):
            h.wfile.write(b"%x\r\n%s\r\n" % (BIG_BLOCK, big_block(i)))
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
    return write
