"""A raw-socket HTTP/1.1 client for 127.0.0.1: exact bytes out, the answer
parsed (Content-Length, chunked, or delimited by the end of the
connection), every read bounded by a deadline.  Also the request shapes
Prometheus sends (scrape_request_bytes, scrape), GET /clients, the sample
files of tests/data (load_sample), a streamed scrape that hashes a huge
body without keeping it (stream_scrape) and many scrapes at once on one
selector (mass_scrape).
"""

import hashlib
import json
import os
import re
import selectors
import socket
import time

from .env import DATA_DIR
from .runner import check, wait_for

__all__ = [
    "PROMETHEUS_ACCEPT", "IO_TIMEOUT", "Response", "Request", "read_response",
    "parse_response_bytes", "parse_request_bytes", "connect", "raw_exchange",
    "http_request", "request_bytes", "scrape_request_bytes", "scrape",
    "client_fqdns", "wait_registered", "load_sample", "stream_scrape",
    "mass_scrape",
]


PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,"
    "application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

IO_TIMEOUT = 10.0          # default socket timeout of the raw client


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers      # list of (name, value), in order
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def has_header(self, name):
        return self.header(name) is not None

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<%s %d %r body=%r>" % (self.version, self.status, self.reason,
                                       self.body[:200])


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body

    header = Response.header
    has_header = Response.has_header


class _Reader:
    """Buffered reads from a socket, bounded by a deadline."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.buf = b""
        self.deadline = deadline
        self.eof = False

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
        self.buf += data
        return bool(data)

    def until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (sep, limit))
            if not self._fill():
                raise ConnectionError("connection closed before %r; got %r"
                                      % (sep, self.buf[:300]))
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exactly(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("connection closed after %d of %d "
                                      "body bytes" % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self, limit=256 << 20):
        while not self.eof:
            if len(self.buf) > limit:
                raise ValueError("body over %d bytes" % limit)
            self._fill()
        out, self.buf = self.buf, b""
        return out


def _parse_headers(lines):
    headers = []
    for line in lines:
        if not line:
            continue
        if b":" not in line:
            raise ValueError("bad header line %r" % line)
        k, v = line.split(b":", 1)
        headers.append((k.decode("latin-1").strip(),
                        v.decode("latin-1").strip()))
    return headers


def _read_body(reader, headers, status=None, method=None, is_request=False):
    def hv(name):
        for k, v in headers:
            if k.lower() == name:
                return v
        return None

    if method == "HEAD" or (status is not None and
                            (100 <= status < 200 or status in (204, 304))):
        return b""
    te = hv("transfer-encoding")
    if te and "chunked" in te.lower():
        body = b""
        for _ in range(1 << 20):
            line = reader.until(b"\r\n").rstrip(b"\r\n")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                # trailers, up to the empty line
                for _ in range(1000):
                    if reader.until(b"\r\n") == b"\r\n":
                        break
                return body
            body += reader.exactly(size)
            check(reader.exactly(2) == b"\r\n", "chunk not ended by CRLF")
        raise ValueError("too many chunks")
    cl = hv("content-length")
    if cl is not None:
        return reader.exactly(int(cl))
    if is_request:
        return b""
    return reader.rest()


def read_response(reader, method="GET"):
    head = reader.until(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    m = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise ValueError("bad status line %r" % lines[0])
    headers = _parse_headers(lines[1:])
    status = int(m.group(2))
    body = _read_body(reader, headers, status=status, method=method)
    return Response(m.group(1).decode(), status,
                    (m.group(3) or b"").decode("latin-1"), headers, body,
                    head)


def parse_response_bytes(data):
    """Parses a whole serialized response (e.g. a push body); a body with
    no length runs to the end of data."""
    r = _BytesReader(data)
    resp = read_response(r)
    return resp, r.buf


def parse_request_bytes(data):
    """Parses a whole serialized request (e.g. a poll answer body)."""
    r = _BytesReader(data)
    head = r.until(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].decode("latin-1").split(" ")
    check(len(parts) == 3, "bad request line %r" % lines[0])
    headers = _parse_headers(lines[1:])
    body = _read_body(r, headers, is_request=True)
    return Request(parts[0], parts[1], parts[2], headers, body), r.buf


class _BytesReader(_Reader):
    def __init__(self, data):
        super().__init__(None, time.monotonic() + 3600)
        self.buf = data
        self.eof = True

    def _fill(self):
        return False


def connect(port, timeout=IO_TIMEOUT):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def raw_exchange(port, data, timeout=IO_TIMEOUT, method="GET", sock=None):
    """Sends exact bytes, reads one response.  With sock given, uses (and
    leaves open) that connection; otherwise opens and closes one."""
    own = sock is None
    if own:
        sock = connect(port, timeout)
    try:
        sock.sendall(data)
        reader = _Reader(sock, time.monotonic() + timeout)
        return read_response(reader, method=method)
    finally:
        if own:
            sock.close()


def http_request(port, method, target, headers=None, body=b"",
                 timeout=IO_TIMEOUT, host=None):
    """A plain HTTP/1.1 request with Connection: close."""
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s HTTP/1.1" % (method, target),
             "Host: %s" % (host or "127.0.0.1:%d" % port)]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    if body or method in ("POST", "PUT"):
        lines.append("Content-Length: %d" % len(body))
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    return raw_exchange(port, data, timeout=timeout, method=method)


def scrape_request_bytes(hostport, path="/metrics", timeout_s=10,
                         extra=None, connection_close=True):
    """The proxy-form request Prometheus 2.42 sends (Go's WriteProxy)."""
    lines = ["GET http://%s%s HTTP/1.1" % (hostport, path),
             "Host: %s" % hostport,
             "User-Agent: Prometheus/2.42.0",
             "Accept: " + PROMETHEUS_ACCEPT,
             "Accept-Encoding: gzip"]
    if timeout_s is not None:
        lines.append("X-Prometheus-Scrape-Timeout-Seconds: %s" % timeout_s)
    for k, v in (extra or []):
        lines.append("%s: %s" % (k, v))
    if connection_close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def scrape(proxy_port, hostport, path="/metrics", timeout_s=10, extra=None,
           io_timeout=IO_TIMEOUT):
    """One scrape through the proxy; returns (Response, seconds taken)."""
    t0 = time.monotonic()
    resp = raw_exchange(proxy_port,
                        scrape_request_bytes(hostport, path, timeout_s,
                                             extra),
                        timeout=io_timeout)
    return resp, time.monotonic() - t0


def client_fqdns(proxy_port, timeout=IO_TIMEOUT):
    resp = http_request(proxy_port, "GET", "/clients", timeout=timeout)
    if resp.status != 200:
        return []
    out = []
    for group in json.loads(resp.body):
        out.extend(group.get("targets", []))
    return out


def wait_registered(proxy_port, fqdn, timeout=10.0):
    return wait_for(lambda: fqdn in client_fqdns(proxy_port, timeout=1.0),
                    timeout, "%s in /clients" % fqdn)


def load_sample(name, **subst):
    """Reads tests/data/<name> as bytes and replaces @KEY@ placeholders."""
    with open(os.path.join(DATA_DIR, name), "rb") as f:
        data = f.read()
    for k, v in subst.items():
        if isinstance(v, int):
            v = str(v)
        if isinstance(v, str):
            v = v.encode("latin-1")
        data = data.replace(b"@" + k.encode() + b"@", v)
    head = data.split(b"\r\n\r\n", 1)[0]
    check(not re.search(rb"@[A-Z_]+@", head),
          "unreplaced placeholder in %s" % name)
    return data


def request_bytes(method, target, host, headers=None, body=b"",
                  close=True):
    """A serialized HTTP/1.1 request (headers: dict or list of pairs)."""
    if isinstance(body, str):
        body = body.encode()
    items = headers.items() if isinstance(headers, dict) else \
        (headers or [])
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host]
    for k, v in items:
        lines.append("%s: %s" % (k, v))
    if body or method in ("POST", "PUT"):
        lines.append("Content-Length: %d" % len(body))
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def stream_scrape(proxy_port, hp, path, timeout_s, io_timeout):
    """A scrape whose body is counted and hashed as it arrives, never
    kept (apart from its first 4 KiB).  Returns (status, headers, nbytes,
    sha256 hex, first bytes, seconds)."""
    t0 = time.monotonic()
    deadline = t0 + io_timeout
    sock = connect(proxy_port, timeout=io_timeout)
    try:
        sock.sendall(scrape_request_bytes(hp, path, timeout_s))
        reader = _Reader(sock, deadline)
        head = reader.until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = _parse_headers(lines[1:])
        hd = {k.lower(): v for k, v in headers}
        h = hashlib.sha256()
        first = b""
        n = 0

        def take(data):
            nonlocal n, first
            h.update(data)
            n += len(data)
            if len(first) < 4096:
                first += data[:4096 - len(first)]

        if "chunked" in hd.get("transfer-encoding", "").lower():
            for _ in range(1 << 22):
                size = int(reader.until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    reader.until(b"\r\n")
                    break
                left = size
                while left:
                    if not reader.buf:
                        reader._fill()
                        if reader.eof and not reader.buf:
                            raise ConnectionError("cut mid-chunk")
                    part = reader.buf[:left]
                    reader.buf = reader.buf[len(part):]
                    take(part)
                    left -= len(part)
                reader.exactly(2)
        else:
            want = int(hd["content-length"]) if "content-length" in hd \
                else None
            if reader.buf:
                take(reader.buf)
                reader.buf = b""
            for _ in range(1 << 24):
                if want is not None and n >= want:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout("deadline passed after %d bytes"
                                         % n)
                sock.settimeout(left)
                data = sock.recv(1 << 20)
                if not data:
                    if want is not None:
                        raise ConnectionError("cut after %d of %d bytes"
                                              % (n, want))
                    break
                take(data)
        return status, headers, n, h.hexdigest(), first, \
            time.monotonic() - t0
    finally:
        sock.close()


def mass_scrape(proxy_port, requests, timeout):
    """Sends every request (bytes) on its own connection at once, with a
    selector, and reads each answer to the end of its connection.
    Returns a list of (raw answer bytes or None, error text or None)."""
    sel = selectors.DefaultSelector()
    n = len(requests)
    out = [None] * n
    state = {}
    deadline = time.monotonic() + timeout
    try:
        for i, req in enumerate(requests):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", proxy_port))
            if err not in (0, 115):     # EINPROGRESS
                s.close()
                out[i] = (None, "connect: %s" % os.strerror(err))
                continue
            state[s] = [i, req, bytearray()]
            sel.register(s, selectors.EVENT_WRITE)
        open_socks = len(state)
        for _ in range(10 ** 7):
            if open_socks == 0:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, ev in sel.select(min(left, 0.5)):
                s = key.fileobj
                st = state[s]
                try:
                    if ev & selectors.EVENT_WRITE:
                        sent = s.send(st[1])
                        st[1] = st[1][sent:]
                        if not st[1]:
                            sel.modify(s, selectors.EVENT_READ)
                    elif ev & selectors.EVENT_READ:
                        data = s.recv(65536)
                        if data:
                            st[2] += data
                            continue
                        out[st[0]] = (bytes(st[2]), None)
                        sel.unregister(s)
                        s.close()
                        open_socks -= 1
                except OSError as e:
                    out[st[0]] = (bytes(st[2]) or None, "socket: %s" % e)
                    sel.unregister(s)
                    s.close()
                    open_socks -= 1
        for s, st in state.items():
            if out[st[0]] is None:
                out[st[0]] = (bytes(st[2]) or None, "no answer within %.0fs"
                              % timeout)
                try:
                    sel.unregister(s)
                except (KeyError, ValueError):
                    pass
                s.close()
    finally:
        sel.close()
    return out
