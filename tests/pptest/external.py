"""Other people's daemons for the end-to-end tests, each started by the
test on 127.0.0.1 ephemeral ports with a configuration of its own (never
the system services): Prometheus (Debian's /usr/bin/prometheus) and its
HTTP API, the node exporter, HAProxy (running docs/examples/haproxy.cfg
adapted to loopback: haproxy_config), and an HTTP service listening only
on a Unix socket (UnixHTTPServer, the Aegis model of issue 10).

Override the paths with PROMETHEUS, NODE_EXPORTER and HAPROXY.
"""

import atexit
import datetime
import http.server
import json
import os
import re
import socket
import socketserver
import threading
import urllib.parse

from .daemons import start_daemon
from .rawhttp import http_request
from .runner import check

__all__ = [
    "PROMETHEUS", "NODE_EXPORTER", "HAPROXY", "EXAMPLES_DIR",
    "require_external", "start_prometheus", "prom_api", "prom_query",
    "prom_targets", "prom_time", "start_node_exporter", "haproxy_config",
    "start_haproxy", "UnixHTTPServer",
]

PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
NODE_EXPORTER = os.environ.get("NODE_EXPORTER",
                               "/usr/bin/prometheus-node-exporter")
HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "docs", "examples")


def require_external(*paths):
    """Fails (a TestFailure naming the Debian package) unless every path
    is an executable."""
    pkgs = {PROMETHEUS: "prometheus", NODE_EXPORTER:
            "prometheus-node-exporter", HAPROXY: "haproxy"}
    for p in paths:
        check(os.access(p, os.X_OK), "%s is not installed (apt-get install "
              "%s; .ci/deps installs it)" % (p, pkgs.get(p, "?")))


# ---------------------------------------------------------- prometheus ---

def start_prometheus(config_text, workdir, name="prometheus", timeout=30.0):
    """Writes config_text to WORKDIR/NAME.yml and starts Prometheus with
    its own TSDB directory there; waits for /-/ready."""
    cfg = os.path.join(workdir, name + ".yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    data = os.path.join(workdir, name + "-data")
    return start_daemon(
        name,
        lambda ports: [PROMETHEUS, "--config.file=" + cfg,
                       "--storage.tsdb.path=" + data,
                       "--web.listen-address=127.0.0.1:%d" % ports[0]],
        lambda d: http_request(d.port, "GET", "/-/ready",
                               timeout=2).status == 200,
        timeout=timeout, check_exit=False)


def prom_api(prom, path, **params):
    """GET /api/v1/PATH?params on Prometheus; returns its "data"."""
    target = "/api/v1/" + path
    if params:
        target += "?" + urllib.parse.urlencode(params)
    resp = http_request(prom.port, "GET", target, timeout=5)
    if resp.status != 200:
        raise ValueError("%s: HTTP %d %r" % (target, resp.status,
                                             resp.body[:300]))
    doc = json.loads(resp.body)
    if doc.get("status") != "success":
        raise ValueError("%s: %r" % (target, doc))
    return doc["data"]


def prom_query(prom, expr):
    """An instant query; returns the result vector."""
    return prom_api(prom, "query", query=expr)["result"]


def prom_targets(prom, job=None):
    """The active targets (of one job if given)."""
    got = prom_api(prom, "targets", state="active")["activeTargets"]
    if job is not None:
        got = [x for x in got if x["labels"].get("job") == job]
    return got


def prom_time(text):
    """Seconds since the epoch of an RFC 3339 time from the API (e.g. a
    target's lastScrape, nanoseconds and all); 0.0 for Go's zero time."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$",
                 text or "")
    if not m or m.group(1).startswith("0001"):
        return 0.0
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    base = datetime.datetime.fromisoformat(m.group(1) + tz).timestamp()
    return base + (float(m.group(2)) if m.group(2) else 0.0)


# ------------------------------------------------------- node exporter ---

def start_node_exporter(name="node-exporter"):
    """prometheus-node-exporter with a few cheap collectors."""
    return start_daemon(
        name,
        lambda ports: [NODE_EXPORTER,
                       "--web.listen-address=127.0.0.1:%d" % ports[0],
                       "--collector.disable-defaults",
                       "--collector.loadavg", "--collector.meminfo",
                       "--collector.time", "--collector.uname"],
        lambda d: http_request(d.port, "GET", "/metrics",
                               timeout=2).status == 200,
        check_exit=False)


# ------------------------------------------------------------- haproxy ---

_TEST_GLOBAL = """\
global
\tmaxconn 4096
"""


def haproxy_config(bind_port, proxy_ports, example="haproxy.cfg"):
    """docs/examples/EXAMPLE for a run on loopback: its global section
    replaced by a minimal one (no chroot, user, daemon, syslog or stats
    socket), its bind on 127.0.0.1:bind_port, and one server line per
    proxy port (proxy1, proxy2, ...) where the example's servers were.
    Everything else (hashing, checks, timeouts) is the shipped file."""
    with open(os.path.join(EXAMPLES_DIR, example)) as f:
        text = f.read()
    m = re.search(r"^global\n(?:[ \t#].*\n|\n)*?(?=^\S)", text, re.M)
    check(m, "no global section in %s" % example)
    text = text[:m.start()] + _TEST_GLOBAL + "\n" + text[m.end():]
    text, n = re.subn(r"^(\s*)bind \S+", r"\1bind 127.0.0.1:%d" % bind_port,
                      text, count=1, flags=re.M)
    check(n == 1, "no bind line in %s" % example)
    lines = text.split("\n")
    idx = [i for i, ln in enumerate(lines)
           if re.match(r"\s*server proxy\d+ ", ln)]
    check(idx, "no 'server proxyN' lines in %s" % example)
    indent = re.match(r"\s*", lines[idx[0]]).group(0)
    servers = ["%sserver proxy%d 127.0.0.1:%d" % (indent, i + 1, p)
               for i, p in enumerate(proxy_ports)]
    lines = lines[:idx[0]] + servers + [
        ln for i, ln in enumerate(lines[idx[0]:], idx[0]) if i not in idx]
    return "\n".join(lines)


def start_haproxy(config_for_port, workdir, name="haproxy", timeout=15.0):
    """Starts `haproxy -f CFG -db` (foreground, not the system service);
    config_for_port(port) gives the configuration for a frontend on
    127.0.0.1:port.  Ready once the frontend accepts connections."""
    cfg = os.path.join(workdir, name + ".cfg")

    def argv(ports):
        with open(cfg, "w") as f:
            f.write(config_for_port(ports[0]))
        return [HAPROXY, "-f", cfg, "-db"]

    def ready(d):
        socket.create_connection(("127.0.0.1", d.port), timeout=1).close()
        return True

    return start_daemon(name, argv, ready, timeout=timeout,
                        check_exit=False)


# ---------------------------------------------- a Unix socket service ---

class _UnixHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pushprox-test-unix"
    sys_version = ""

    def address_string(self):
        return "unix"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        with owner.lock:
            owner.paths.append(self.path)
        body = owner.body(self) if callable(owner.body) else owner.body
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class UnixHTTPServer:
    """An HTTP service that listens only on the Unix socket at path (in a
    thread), answering every GET with body (bytes, or a function of the
    handler); records the request paths it saw in .paths."""

    def __init__(self, path, body):
        self.path = path
        self.body = body
        self.lock = threading.Lock()
        self.paths = []
        if os.path.exists(path):
            os.unlink(path)
        self.httpd = _UnixServer(path, _UnixHandler)
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        self.closed = False
        atexit.register(self.close)

    def close(self):
        if not self.closed:
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()
            try:
                os.unlink(self.path)
            except OSError:
                pass
