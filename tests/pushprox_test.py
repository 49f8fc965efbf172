"""Small stdlib-only harness for the pushprox integration tests.

What it gives the test scripts:
  - free loopback ports, and daemons started on them as subprocesses (log
    captured to a file, readiness awaited with a bounded loop, a retry on a
    new port when the port was taken in the meantime);
  - stopping every daemon by its pid (SIGTERM, bounded wait, SIGKILL) at
    the end of the script, even when it fails;
  - a raw-socket HTTP client that sends exact bytes and parses the answer
    (Content-Length, chunked, or delimited by the end of the connection);
  - an in-process HTTP target server (http.server in a thread) serving
    configurable bodies, statuses, delays and gzip, recording what it saw;
  - a fake proxy speaking the reference PushProx protocol to our client;
  - a tiny test runner printing one line per test and, last, exactly
    "N passed, M failed"; the exit status is non-zero on any failure;
  - for the security tests: a throw-away PKI made with the openssl command
    (CAs, server and client certificates, an expired one), bcrypt hashes,
    and HTTPS versions of the raw client, of start_proxy and of /clients.

Every wait here is bounded in count and in time.

Environment: PUSHPROX_PROXY and PUSHPROX_CLIENT (binary paths, set by
meson), TEST_DATA_DIR (sample files), PUSHPROX_TEST_LOGDIR (optional: keep
daemon logs there; otherwise a temporary directory, kept only on failure).
"""

import atexit
import base64
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PROXY = os.environ.get("PUSHPROX_PROXY",
                       os.path.join(ROOT, "build", "proxy", "pushprox-proxy"))
CLIENT = os.environ.get("PUSHPROX_CLIENT",
                        os.path.join(ROOT, "build", "client",
                                     "pushprox-client"))
DATA_DIR = os.environ.get("TEST_DATA_DIR", os.path.join(HERE, "data"))

# Markers of a sanitizer report in a daemon's log.
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer|"
    r"MemorySanitizer)|runtime error:|SUMMARY: \w+Sanitizer")

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,"
    "application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

IO_TIMEOUT = 10.0          # default socket timeout of the raw client
STOP_TIMEOUT = 5.0         # SIGTERM grace before SIGKILL


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    """Fails the current test with msg unless cond."""
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


# ---------------------------------------------------------------- logs ---

class _LogDir:
    def __init__(self):
        self.path = None
        self.keep = False

    def get(self):
        if self.path is None:
            base = os.environ.get("PUSHPROX_TEST_LOGDIR")
            script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
            if base:
                self.keep = True
                os.makedirs(base, exist_ok=True)
                self.path = tempfile.mkdtemp(prefix=script + "-", dir=base)
            else:
                self.path = tempfile.mkdtemp(prefix="pushprox-" + script + "-")
        return self.path


LOGDIR = _LogDir()


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------- ports ---

def free_port():
    """A loopback port that was free a moment ago (bind :0, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ------------------------------------------------------------- daemons ---

class Daemon:
    """One subprocess, its log file and its ports."""

    def __init__(self, name, argv, logpath, ports, check_exit=True):
        self.name = name
        self.check_exit = check_exit  # ours: must exit 0 on SIGTERM
        self.argv = argv
        self.logpath = logpath
        self.ports = ports
        self.log = open(logpath, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     close_fds=True)
        self.pid = self.proc.pid
        self.exit_code = None
        self.stopped_by_us = False
        self.killed_by_us = None    # signal a test sent on purpose

    @property
    def port(self):
        return self.ports[0]

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns exit code."""
        if self.proc.poll() is None:
            self.stopped_by_us = True
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
                self.exit_code = "killed (no exit within %.0fs of SIGTERM)" % (
                    timeout)
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        if not self.log.closed:
            self.log.close()
        return self.exit_code

    def log_text(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines=30):
        return tail(self.logpath, lines)

    def kill(self, sig=signal.SIGKILL, wait=True, timeout=STOP_TIMEOUT):
        """Sends sig on purpose (a fault injected by a test).  After
        SIGKILL (or any signal that ends the process) the exit status is
        not held against the daemon at the end of the script."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        if sig not in (signal.SIGSTOP, signal.SIGCONT):
            self.killed_by_us = sig
        os.kill(self.pid, sig)
        if wait and sig not in (signal.SIGSTOP, signal.SIGCONT):
            self.proc.wait(timeout=timeout)
            return self.proc.returncode
        return None


DAEMONS = []


def stop_all():
    for d in reversed(DAEMONS):
        try:
            d.stop()
        except Exception:  # keep stopping the others
            traceback.print_exc()


atexit.register(stop_all)


def _terminated(signum, frame):
    # meson's timeout sends SIGTERM: exit through atexit, stopping daemons.
    print("test script terminated by signal %d" % signum, flush=True)
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _terminated)


def start_daemon(name, argv_for_ports, ready, nports=1, timeout=15.0,
                 attempts=3, check_exit=True, ports=None):
    """Starts a daemon on fresh loopback ports and waits until ready.

    argv_for_ports(ports) gives the argv; ready(daemon) returns True once
    it serves.  If the process dies during start-up because a port was
    taken in the meantime (EADDRINUSE), it is started again on new ports.
    With ports given (e.g. to restart a daemon where it was), exactly those
    are used, once.
    """
    last = None
    fixed = ports
    for attempt in range(1 if fixed else attempts):
        ports = list(fixed) if fixed else [free_port() for _ in range(nports)]
        logpath = os.path.join(LOGDIR.get(),
                               "%02d-%s.log" % (len(DAEMONS), name))
        d = Daemon(name, argv_for_ports(ports), logpath, ports, check_exit)
        DAEMONS.append(d)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not d.alive():
                break
            try:
                if ready(d):
                    return d
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        if d.alive():
            d.stop()
            raise TestFailure("%s not ready within %.0fs; log tail:\n%s" % (
                name, timeout, d.tail()))
        d.stop()
        last = d
        text = d.log_text().lower()
        if "in use" not in text and "eaddrinuse" not in text:
            break
    raise TestFailure("%s exited during start-up (code %s): %s\nlog tail:\n%s"
                      % (name, last.exit_code, " ".join(last.argv),
                         last.tail()))


def start_proxy(*extra, name="proxy", timeout=15.0, port=None,
                log_level="debug"):
    """Starts pushprox-proxy on a fresh loopback port (or on port)."""
    def argv(ports):
        return [PROXY, "--web.listen-address=127.0.0.1:%d" % ports[0],
                "--log.level=" + log_level] + list(extra)

    def ready(d):
        return http_request(d.port, "GET", "/metrics", timeout=1.0).status \
            == 200

    return start_daemon(name, argv, ready, timeout=timeout,
                        ports=[port] if port else None)


def start_client(proxy_url, fqdn, *extra, name="client", registered_at=None,
                 ready=None, timeout=15.0):
    """Starts pushprox-client; by default waits until the proxy on port
    registered_at lists fqdn in /clients (or only until the process runs,
    if registered_at is None and no ready function is given)."""
    def argv(ports):
        return [CLIENT, "--proxy-url=" + proxy_url, "--fqdn=" + fqdn,
                "--metrics-addr=127.0.0.1:%d" % ports[0],
                "--proxy.retry.initial-wait=100ms",
                "--proxy.retry.max-wait=500ms",
                "--log.level=debug"] + list(extra)

    if ready is None:
        if registered_at is not None:
            def ready(d):
                return fqdn in client_fqdns(registered_at, timeout=1.0)
        else:
            def ready(d):
                return http_request(d.port, "GET", "/metrics",
                                    timeout=1.0).status == 200
    return start_daemon(name, argv, ready, timeout=timeout)


def daemon_hygiene_problems():
    """Sanitizer reports in any log, and daemons that did not exit 0 on
    our SIGTERM (or died by themselves)."""
    problems = []
    for d in DAEMONS:
        code = d.stop()
        if not d.check_exit:    # not ours (Prometheus, node exporter)
            continue
        text = d.log_text()
        m = SANITIZER_RE.search(text)
        if m:
            start = max(0, m.start() - 200)
            problems.append("%s (pid %d): sanitizer report in %s:\n%s" % (
                d.name, d.pid, d.logpath, text[start:start + 3000]))
        if d.killed_by_us is not None:
            pass    # a test killed it on purpose: any exit status goes
        elif d.stopped_by_us and code != 0:
            problems.append("%s (pid %d) exited with %s on SIGTERM; log "
                            "tail:\n%s" % (d.name, d.pid, code, d.tail(15)))
        elif not d.stopped_by_us and isinstance(code, int) and code < 0:
            problems.append("%s (pid %d) died of signal %d; log tail:\n%s"
                            % (d.name, d.pid, -code, d.tail(15)))
    return problems


def run_cmd(argv, timeout=10.0):
    """Runs a short command; returns (exit code, stdout, stderr)."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# ---------------------------------------------------------- raw HTTP ---

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


def wait_for(cond, timeout, what, interval=0.05):
    """Polls cond() until true, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    last_err = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except (OSError, ValueError) as e:
            last_err = e
        time.sleep(interval)
    raise TestFailure("timed out after %.1fs waiting for %s%s" % (
        timeout, what, " (last error: %s)" % last_err if last_err else ""))


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


# ------------------------------------------------- metrics and /proc ---

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition -> list of (name, {labels}, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            continue
        labels = dict(_LABEL_RE.findall(m.group(2) or ""))
        try:
            out.append((m.group(1), labels, float(m.group(3))))
        except ValueError:
            pass
    return out


def metrics_of(port, timeout=IO_TIMEOUT):
    """GET /metrics on port, parsed (see parse_metrics)."""
    resp = http_request(port, "GET", "/metrics", timeout=timeout)
    check(resp.status == 200, "GET /metrics on port %d: %r" % (port, resp))
    return parse_metrics(resp.text())


def metric_value(port_or_samples, name, **labels):
    """Sum of the samples of name whose labels include labels (0 if
    none).  Takes a port or the result of metrics_of."""
    samples = port_or_samples
    if isinstance(port_or_samples, int):
        samples = metrics_of(port_or_samples)
    total = 0.0
    for n, lab, v in samples:
        if n == name and all(lab.get(k) == str(w) for k, w in labels.items()):
            total += v
    return total


def proc_status(pid):
    """/proc/PID/status as a dict; memory fields (VmRSS, VmHWM, ...) in
    bytes as ints, the rest as strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            if v.endswith(" kB") and v[:-3].strip().isdigit():
                out[k] = int(v[:-3]) * 1024
            else:
                out[k] = v
    return out


def is_sanitized(pid):
    """Whether the process runs with AddressSanitizer (its allocator keeps
    freed memory in quarantine, so RSS figures mean little)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def fd_count(pid):
    """Open file descriptors of a process."""
    return len(os.listdir("/proc/%d/fd" % pid))


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


# -------------------------------------------------------------- runner ---

class Runner:
    def __init__(self):
        self.tests = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def run(self):
        passed = failed = 0
        t_all = time.monotonic()
        only = set(a for a in sys.argv[1:] if not a.startswith("-"))
        for fn in self.tests:
            if only and fn.__name__ not in only:
                continue
            t0 = time.monotonic()
            try:
                fn()
            except Exception as e:  # a failed test, whatever the cause
                failed += 1
                detail = str(e) if isinstance(e, TestFailure) else \
                    traceback.format_exc()
                print("FAIL %s (%.2fs): %s" % (fn.__name__,
                                               time.monotonic() - t0,
                                               detail.rstrip()), flush=True)
            else:
                passed += 1
                print("ok   %s (%.2fs)" % (fn.__name__,
                                           time.monotonic() - t0),
                      flush=True)
        # Every daemon must stop cleanly on SIGTERM, with no sanitizer
        # report in its log: that is one more test.
        t0 = time.monotonic()
        problems = daemon_hygiene_problems()
        if problems:
            failed += 1
            print("FAIL daemons_exit_cleanly (%.2fs):\n%s" % (
                time.monotonic() - t0, "\n".join(problems)), flush=True)
        else:
            passed += 1
            print("ok   daemons_exit_cleanly (%.2fs)" % (
                time.monotonic() - t0), flush=True)
        if failed:
            print("daemon logs of the failed run (tails):")
            for d in DAEMONS:
                print("--- %s (pid %d, %s) exit %s" % (d.name, d.pid,
                                                      d.logpath, d.exit_code))
                print(d.tail(20))
            print("logs kept in %s" % LOGDIR.get())
        elif LOGDIR.path and not LOGDIR.keep:
            shutil.rmtree(LOGDIR.path, ignore_errors=True)
        print("took %.1fs" % (time.monotonic() - t_all))
        print("%d passed, %d failed" % (passed, failed), flush=True)
        return 1 if failed else 0


def require_binaries(*paths):
    for p in paths:
        if not os.access(p, os.X_OK):
            print("missing binary %s" % p)
            print("0 passed, 1 failed")
            sys.exit(1)



# ------------------------------------------------------------ security ---
#
# Certificates are made at test time with the openssl command (EC P-256
# keys: fast), bcrypt hashes with the crypt module and the system's
# libcrypt, and TLS connections with the ssl module.

OPENSSL = os.environ.get("OPENSSL", "openssl")

_OPENSSL_CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = testca
[ testca ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/newcerts
serial = {dir}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
"""


class PKI:
    """A throw-away PKI in a folder: CAs and the certificates they sign.

    ca(name) makes a self-signed CA; issue(name, ca, cn, dns, ips, ...)
    makes a key and a certificate signed by ca (a name returned by ca()),
    with the given DNS and IP subjectAltNames (none: the CN only), for
    server or client use, and with expired=True valid only on 2020-01-01.
    Files: DIR/NAME.crt and DIR/NAME.key.
    """

    def __init__(self, folder):
        self.dir = folder
        os.makedirs(folder, exist_ok=True)
        self.cnf = os.path.join(folder, "openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(_OPENSSL_CNF.format(dir=folder))

    def crt(self, name):
        return os.path.join(self.dir, name + ".crt")

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def _run(self, argv):
        code, out, err = run_cmd([OPENSSL] + argv, timeout=30)
        if code != 0:
            raise TestFailure("openssl %s failed (%d): %s%s" % (
                " ".join(argv), code, out, err))
        return out

    def _newkey(self, name):
        self._run(["genpkey", "-algorithm", "EC", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-out", self.key(name)])

    def ca(self, name, cn=None):
        self._newkey(name)
        self._run(["req", "-config", self.cnf, "-new", "-x509",
                   "-key", self.key(name), "-out", self.crt(name),
                   "-days", "2", "-subj", "/CN=" + (cn or name),
                   "-extensions", "v3_ca", "-sha256"])
        return name

    def issue(self, name, ca, cn, dns=(), ips=(), server=False,
              client=True, expired=False):
        self._newkey(name)
        csr = os.path.join(self.dir, name + ".csr")
        self._run(["req", "-config", self.cnf, "-new", "-key",
                   self.key(name), "-out", csr, "-subj", "/CN=" + cn])
        usage = [u for u, on in (("serverAuth", server),
                                 ("clientAuth", client)) if on]
        ext = ["basicConstraints = critical, CA:FALSE",
               "keyUsage = critical, digitalSignature, keyEncipherment"]
        if usage:
            ext.append("extendedKeyUsage = " + ", ".join(usage))
        sans = ["DNS:" + d for d in dns] + ["IP:" + i for i in ips]
        if sans:
            ext.append("subjectAltName = " + ", ".join(sans))
        extfile = os.path.join(self.dir, name + ".ext")
        with open(extfile, "w") as f:
            f.write("[ leaf ]\n" + "\n".join(ext) + "\n")
        if expired:
            # openssl x509 -req cannot backdate; openssl ca can.
            os.makedirs(os.path.join(self.dir, "newcerts"), exist_ok=True)
            index = os.path.join(self.dir, "index.txt")
            if not os.path.exists(index):
                open(index, "w").close()
            serial = os.path.join(self.dir, "serial")
            if not os.path.exists(serial):
                with open(serial, "w") as f:
                    f.write("1000\n")
            self._run(["ca", "-batch", "-config", self.cnf, "-notext",
                       "-cert", self.crt(ca), "-keyfile", self.key(ca),
                       "-in", csr, "-out", self.crt(name),
                       "-startdate", "20200101000000Z",
                       "-enddate", "20200102000000Z",
                       "-extfile", extfile, "-extensions", "leaf"])
        else:
            self._run(["x509", "-req", "-in", csr, "-CA", self.crt(ca),
                       "-CAkey", self.key(ca), "-CAcreateserial",
                       "-out", self.crt(name), "-days", "2", "-sha256",
                       "-extfile", extfile, "-extensions", "leaf"])
        return name

    def verify(self, name, ca):
        """openssl verify's verdict on name's certificate (text)."""
        code, out, err = run_cmd([OPENSSL, "verify", "-CAfile",
                                  self.crt(ca), self.crt(name)], timeout=10)
        return code, out + err


def bcrypt_hash(password, cost=10):
    """A bcrypt hash of password ($2b$), as htpasswd -nBC cost makes."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH,
                                               rounds=1 << cost))
    check(h is not None and h.startswith("$2") and len(h) == 60,
          "this libcrypt makes no bcrypt hashes: %r" % h)
    return h


def basic_auth(user, password):
    """The value of an Authorization or Proxy-Authorization header."""
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


def tls_context(cafile=None, certfile=None, keyfile=None, verify=True,
                min_version=None, max_version=None):
    """A client-side ssl.SSLContext: verifies the server against cafile
    (unless verify is False) and presents certfile/keyfile if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def tls_connect(port, ctx, timeout=IO_TIMEOUT, server_hostname="127.0.0.1"):
    """A TLS connection to 127.0.0.1:port (handshake done)."""
    sock = connect(port, timeout)
    try:
        return ctx.wrap_socket(sock, server_hostname=server_hostname)
    except BaseException:
        sock.close()
        raise


def tls_exchange(port, ctx, data, timeout=IO_TIMEOUT, method="GET",
                 sock=None):
    """raw_exchange over TLS.  With sock given (from tls_connect), uses
    and leaves open that connection."""
    if sock is not None:
        return raw_exchange(port, data, timeout=timeout, method=method,
                            sock=sock)
    s = tls_connect(port, ctx, timeout)
    try:
        return raw_exchange(port, data, timeout=timeout, method=method,
                            sock=s)
    finally:
        s.close()


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


def https_request(port, ctx, method, target, headers=None, body=b"",
                  timeout=IO_TIMEOUT, host=None, sock=None):
    """http_request over TLS (Connection: close unless sock is given)."""
    data = request_bytes(method, target, host or "127.0.0.1:%d" % port,
                         headers, body, close=sock is None)
    return tls_exchange(port, ctx, data, timeout=timeout, method=method,
                        sock=sock)


def tls_scrape(proxy_port, ctx, hostport, path="/metrics", timeout_s=10,
               extra=None, io_timeout=IO_TIMEOUT):
    """scrape() over TLS to the proxy; returns (Response, seconds)."""
    t0 = time.monotonic()
    resp = tls_exchange(proxy_port, ctx,
                        scrape_request_bytes(hostport, path, timeout_s,
                                             extra), timeout=io_timeout)
    return resp, time.monotonic() - t0


def client_fqdns_tls(proxy_port, ctx, auth=None, timeout=IO_TIMEOUT):
    """client_fqdns over TLS; auth is an Authorization value or None."""
    resp = https_request(proxy_port, ctx, "GET", "/clients",
                         headers={"Authorization": auth} if auth else None,
                         timeout=timeout)
    if resp.status != 200:
        return []
    out = []
    for group in json.loads(resp.body):
        out.extend(group.get("targets", []))
    return out


def start_tls_proxy(web_config, *extra, ctx, name="proxy", timeout=15.0,
                    log_level="debug", port=None):
    """start_proxy with --web.config.file=web_config, ready once GET
    /metrics over TLS with ctx gets any HTTP answer (200, or 401 when
    basic_auth_users is set)."""
    def argv(ports):
        return [PROXY, "--web.listen-address=127.0.0.1:%d" % ports[0],
                "--log.level=" + log_level,
                "--web.config.file=" + web_config] + list(extra)

    def ready(d):
        return https_request(d.port, ctx, "GET", "/metrics",
                             timeout=1.0).status in (200, 401)

    return start_daemon(name, argv, ready, timeout=timeout,
                        ports=[port] if port else None)


def wait_log(daemon, pattern, timeout=5.0, start=0):
    """Waits until daemon's log (from byte offset start) matches the
    regular expression pattern; returns the match."""
    rx = re.compile(pattern)

    def found():
        return rx.search(daemon.log_text()[start:])
    return wait_for(found, timeout, "log of %s to match %r" % (
        daemon.name, pattern))
