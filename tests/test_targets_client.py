#!/usr/bin/python3
"""The client's named targets (issue 10, client side): the real proxy and
the real client with a --targets.file, scraped the way Prometheus does
through proxy_url (GET http://FQDN:0/pushprox/targets/NAME/metrics).  A TCP
target, a service listening only on a Unix socket, a socket_dirs directory
with two sockets, an include directory whose file is dropped after start
(scraped within seconds) and deleted (404 again), an unknown name (404
naming it and what the client has), a plain scrape of an unlisted port
(403: the targets file is the allowlist) and of a listed one (the target),
SIGHUP reloads (a bad file keeps the old set), a bad file at start, https
targets with a private CA through --tls.cacert (named and plain
_scheme=https scrapes) and through a target's own tls settings
(ca_file, server_name), and environment proxies with a real forward
proxy started here: a localhost target never goes through it, HTTP_PROXY
in upper case is honoured for another host, NO_PROXY is."""
import http.server
import os
import shutil
import signal
import socketserver
import ssl
import sys
import tempfile
import threading
import atexit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402
from pptest.external import UnixHTTPServer  # noqa: E402

runner = t.Runner()
FQDN = "node1.test"
WORK = tempfile.mkdtemp(prefix="pushprox-targets-client-")
atexit.register(shutil.rmtree, WORK, True)


def path(*names):
    return os.path.join(WORK, *names)


def write(p, text):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p + ".tmp", "w") as f:
        f.write(text)
    os.rename(p + ".tmp", p)
    return p


def named(proxy, name, fqdn=FQDN):
    """Prometheus's scrape of a named target, through the proxy."""
    resp, _ = t.scrape(proxy.port, "%s:0" % fqdn,
                       path="/pushprox/targets/%s/metrics" % name)
    return resp


def start_pair(targets_yml, *extra, env=None, fqdn=FQDN):
    proxy = t.start_proxy()
    targets = write(path("targets-%d.yml" % proxy.port), targets_yml)
    old = {}
    for k, v in (env or {}).items():
        old[k] = os.environ.get(k)
        os.environ[k] = v
    try:
        client = t.start_client("http://127.0.0.1:%d/" % proxy.port, fqdn,
                                "--targets.file=" + targets, *extra,
                                registered_at=proxy.port)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return proxy, client, targets


def target_with(body):
    srv = t.TargetServer()
    srv.route("/metrics", t.Route(body=body))
    return srv


@runner.test
def named_tcp_target():
    srv = target_with(b"node_up 1\n")
    proxy, client, _ = start_pair(
        "labels: {site: test}\n"
        "targets:\n"
        "  - name: node\n"
        "    url: http://127.0.0.1:%d/metrics?collect=cpu\n" % srv.port)
    resp = named(proxy, "node")
    t.check_eq(resp.status, 200, "status of a named TCP target")
    t.check_eq(resp.body, b"node_up 1\n", "body")
    seen = [r.target for r in srv.requests_for("/metrics")]
    t.check(seen == ["/metrics?collect=cpu"],
            "the target's own path and query fetched: %r" % seen)
    client.stop()
    proxy.stop()


@runner.test
def unix_socket_target():
    svc = UnixHTTPServer(path("svc.sock"), b"svc_up 1\n")
    proxy, client, _ = start_pair(
        "targets:\n"
        "  - name: xesite\n"
        "    url: http://localhost/sock-metrics?a=b\n"
        "    unix_socket: %s\n" % svc.path)
    resp = named(proxy, "xesite")
    t.check_eq(resp.status, 200, "status of a Unix socket target")
    t.check_eq(resp.body, b"svc_up 1\n", "body over the socket")
    t.check_eq(svc.paths, ["/sock-metrics?a=b"], "path over the socket")
    client.stop()
    proxy.stop()
    svc.close()


@runner.test
def socket_dirs_two_sockets():
    d = path("run")
    os.makedirs(d, exist_ok=True)
    a = UnixHTTPServer(os.path.join(d, "alpha.sock"), b"alpha 1\n")
    b = UnixHTTPServer(os.path.join(d, "beta.sock"), b"beta 1\n")
    proxy, client, _ = start_pair(
        "socket_dirs:\n  - {dir: %s, path: /m, labels: {via: aegis}}\n" % d)
    for name, want, svc in (("alpha", b"alpha 1\n", a),
                            ("beta", b"beta 1\n", b)):
        resp = named(proxy, name)
        t.check_eq(resp.status, 200, "status of socket %s" % name)
        t.check_eq(resp.body, want, "body of socket %s" % name)
        t.check_eq(svc.paths, ["/m"], "path asked of %s" % name)
    client.stop()
    proxy.stop()
    a.close()
    b.close()


@runner.test
def include_dir_hot_add_and_remove():
    inc = path("targets.d")
    os.makedirs(inc, exist_ok=True)
    srv = target_with(b"plugin_up 1\n")
    proxy, client, _ = start_pair("include: [%s]\n" % inc)
    resp = named(proxy, "plugin")
    t.check_eq(resp.status, 404, "status before the plugin's file")
    # A plugin host writes a dot file and renames it into place.
    write(os.path.join(inc, "plugin.yml"),
          "name: plugin\nurl: http://127.0.0.1:%d/metrics\n" % srv.port)
    t.wait_for(lambda: named(proxy, "plugin").status == 200, 5.0,
               "the plugin scraped by name after its file appeared")
    t.check_eq(named(proxy, "plugin").body, b"plugin_up 1\n", "body")
    os.unlink(os.path.join(inc, "plugin.yml"))
    t.wait_for(lambda: named(proxy, "plugin").status == 404, 5.0,
               "404 after the plugin's file was deleted")
    client.stop()
    proxy.stop()


@runner.test
def unknown_name_404_names_it():
    srv = target_with(b"x 1\n")
    proxy, client, _ = start_pair(
        "targets:\n"
        "  - {name: b, url: 'http://127.0.0.1:%d/metrics'}\n"
        "  - {name: a, url: 'http://127.0.0.1:%d/metrics'}\n"
        % (srv.port, srv.port))
    resp = named(proxy, "nope")
    t.check_eq(resp.status, 404, "status of an unknown name")
    text = resp.body.decode("utf-8", "replace")
    t.check('no target "nope" on client %s' % FQDN in text,
            "404 names the target and the client: %r" % text)
    # From the client (the proxy may answer first from the advertisement).
    if "(it has:" in text:
        t.check("(it has: a, b)" in text, "lists the names: %r" % text)
    t.check_eq(len(srv.requests), 0, "nothing fetched")
    # A bad named path: refused (by our proxy already, else the client).
    resp = named(proxy, "a/b")
    t.check(resp.status in (400, 404), "status of a bad named path: %d"
            % resp.status)
    client.stop()
    proxy.stop()


@runner.test
def plain_scrape_is_allowlisted():
    listed = target_with(b"listed 1\n")
    other = target_with(b"other 1\n")
    proxy, client, targets = start_pair(
        "targets:\n  - {name: node, url: 'http://localhost:%d/metrics'}\n"
        % listed.port)
    t.wait_log(client, "targets file loaded: it is the allowlist")
    # A Go proxy's plain scrape of FQDN:PORT is the listed localhost URL.
    resp, _ = t.scrape(proxy.port, "%s:%d" % (FQDN, listed.port))
    t.check_eq(resp.status, 200, "plain scrape of a listed URL")
    t.check_eq(resp.body, b"listed 1\n", "body of the listed target")
    # An unlisted port, or an unlisted path: 403 naming the URL.
    for hostport, p in (("%s:%d" % (FQDN, other.port), "/metrics"),
                        ("%s:%d" % (FQDN, listed.port), "/other")):
        resp, _ = t.scrape(proxy.port, hostport, path=p)
        t.check_eq(resp.status, 403, "plain scrape of unlisted %s%s"
                   % (hostport, p))
        text = resp.body.decode("utf-8", "replace")
        t.check("http://%s%s" % (hostport, p) in text and
                "--targets.file" in text, "403 says why: %r" % text)
    t.check_eq(len(other.requests), 0, "the unlisted target untouched")
    client.stop()
    proxy.stop()


@runner.test
def plain_scrape_allow_rules_with_targets_file():
    other = target_with(b"other 1\n")
    proxy, client, _ = start_pair(
        "targets: []\n", "--scrape.allow=%d/metrics" % other.port,
        "--scrape.target-host=127.0.0.1")
    resp, _ = t.scrape(proxy.port, "%s:%d" % (FQDN, other.port))
    t.check_eq(resp.status, 200, "allowed by --scrape.allow")
    resp, _ = t.scrape(proxy.port, "%s:%d" % (FQDN, other.port), path="/x")
    t.check_eq(resp.status, 403, "not allowed by --scrape.allow")
    client.stop()
    proxy.stop()


@runner.test
def sighup_reload_and_bad_reload():
    srv = target_with(b"r 1\n")
    proxy, client, targets = start_pair(
        "targets:\n  - {name: one, url: 'http://127.0.0.1:%d/metrics'}\n"
        % srv.port)
    t.check_eq(named(proxy, "one").status, 200, "before the reload")
    write(targets, "targets:\n  - {name: two, url: "
          "'http://127.0.0.1:%d/metrics'}\n" % srv.port)
    os.kill(client.pid, signal.SIGHUP)
    t.wait_log(client, r"targets file reloaded \(SIGHUP\)")
    t.check_eq(named(proxy, "two").status, 200, "new name after SIGHUP")
    t.check_eq(named(proxy, "one").status, 404, "old name gone")
    mark = len(client.log_text())
    write(targets, "targets:\n  - {name: three, url: 'ftp://x/'}\n")
    os.kill(client.pid, signal.SIGHUP)
    t.wait_log(client, r"reload of the targets file failed.*line 2.*url",
               start=mark)
    t.check(client.alive(), "a bad reload does not stop the client")
    t.check_eq(named(proxy, "two").status, 200, "old set kept")
    client.stop()
    proxy.stop()


@runner.test
def bad_file_fails_start():
    bad = write(path("bad.yml"), "targets:\n  - name: a\n    url: x\n"
                "    bogus: 1\n")
    code, out, err = t.run_cmd([t.CLIENT, "--proxy-url=http://127.0.0.1:1/",
                                "--fqdn=" + FQDN, "--metrics-addr=",
                                "--targets.file=" + bad], timeout=10)
    t.check(code != 0, "exit status %d" % code)
    t.check(bad in err and "line 4" in err and "bogus" in err,
            "the error names file, line and key: %r" % err)


# ------------------------------------------------------ https targets ---

class _TLSHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        body = b"tls_up 1\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(5)
        return self.ctx.wrap_socket(sock, server_side=True), addr

    def handle_error(self, request, client_address):
        pass


def https_target(pki, crt):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.crt(crt), pki.key(crt))
    srv = _TLSServer(("127.0.0.1", 0), _TLSHandler)
    srv.ctx = ctx
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    atexit.register(srv.shutdown)
    return srv, srv.server_address[1]


_PKI = None


def pki():
    global _PKI
    if _PKI is None:
        _PKI = t.PKI(path("pki"))
        _PKI.ca("ca")
        _PKI.issue("local", "ca", "localhost", dns=["localhost", FQDN],
                   ips=["127.0.0.1"], server=True)
        _PKI.ca("ca2")
        _PKI.issue("svc", "ca2", "svc.internal", dns=["svc.internal"],
                   server=True)
    return _PKI


@runner.test
def https_target_private_ca_via_tls_cacert():
    p = pki()
    srv, port = https_target(p, "local")
    yml = "targets:\n  - {name: sec, url: 'https://localhost:%d/metrics'}\n" \
        % port
    proxy, client, _ = start_pair(yml, "--tls.cacert=" + p.crt("ca"))
    resp = named(proxy, "sec")
    t.check_eq(resp.status, 200, "https target verified with --tls.cacert: "
               "%r" % resp.body[:300])
    t.check_eq(resp.body, b"tls_up 1\n", "body over TLS")
    client.stop()
    proxy.stop()
    # Without the CA: the system store does not know it.
    proxy, client, _ = start_pair(yml)
    resp = named(proxy, "sec")
    t.check_eq(resp.status, 500, "unknown CA refused")
    client.stop()
    proxy.stop()
    srv.shutdown()


@runner.test
def https_plain_scrape_uses_tls_cacert():
    """No targets file: a _scheme=https scrape verified with --tls.cacert,
    as the Go client does (it used to be the system store only)."""
    p = pki()
    srv, port = https_target(p, "local")
    proxy = t.start_proxy()
    client = t.start_client("http://127.0.0.1:%d/" % proxy.port, FQDN,
                            "--tls.cacert=" + p.crt("ca"),
                            "--scrape.target-host=127.0.0.1",
                            registered_at=proxy.port)
    resp, _ = t.scrape(proxy.port, "%s:%d" % (FQDN, port),
                       path="/metrics?_scheme=https")
    t.check_eq(resp.status, 200, "plain https scrape: %r" % resp.body[:300])
    t.check_eq(resp.body, b"tls_up 1\n", "body")
    client.stop()
    proxy.stop()
    srv.shutdown()


@runner.test
def https_target_own_tls_server_name():
    p = pki()
    srv, port = https_target(p, "svc")
    proxy, client, _ = start_pair(
        "targets:\n"
        "  - name: svc\n"
        "    url: https://127.0.0.1:%d/metrics\n"
        "    tls: {ca_file: %s, server_name: svc.internal}\n"
        % (port, p.crt("ca2")), "--tls.cacert=" + p.crt("ca"))
    resp = named(proxy, "svc")
    t.check_eq(resp.status, 200, "target's own CA and server_name: %r"
               % resp.body[:300])
    t.check_eq(resp.body, b"tls_up 1\n", "body")
    client.stop()
    proxy.stop()
    srv.shutdown()


# ------------------------------------------------ environment proxies ---

class ForwardProxy:
    """A forward HTTP proxy on 127.0.0.1 that records every request line
    it is sent and answers it itself with "via_forward_proxy 1"."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()
        owner = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                with owner.lock:
                    owner.seen.append(self.requestline)
                body = b"via_forward_proxy 1\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.httpd.serve_forever,
                         kwargs={"poll_interval": 0.1}, daemon=True).start()
        atexit.register(self.close)
        self.closed = False

    def requests(self):
        with self.lock:
            return list(self.seen)

    def close(self):
        if not self.closed:
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()


@runner.test
def env_proxy_localhost_never_proxied():
    fp = ForwardProxy()
    srv = target_with(b"local 1\n")
    proxy, client, _ = start_pair(
        "targets:\n  - {name: local, url: 'http://localhost:%d/metrics'}\n"
        "  - {name: v4, url: 'http://127.0.0.1:%d/metrics'}\n"
        % (srv.port, srv.port),
        env={"http_proxy": fp.url, "HTTP_PROXY": fp.url})
    for name in ("local", "v4"):
        resp = named(proxy, name)
        t.check_eq(resp.status, 200, "status of %s" % name)
        t.check_eq(resp.body, b"local 1\n", "%s scraped directly" % name)
    t.check_eq(fp.requests(), [], "the forward proxy saw nothing")
    client.stop()
    proxy.stop()
    fp.close()


@runner.test
def env_proxy_upper_case_and_no_proxy():
    # 0.0.0.0 reaches this host's listeners on Linux but is not loopback:
    # the environment decides.
    fp = ForwardProxy()
    srv = target_with(b"direct 1\n")
    yml = "targets:\n  - {name: far, url: 'http://0.0.0.0:%d/metrics'}\n" \
        % srv.port
    proxy, client, _ = start_pair(yml, env={"HTTP_PROXY": fp.url})
    resp = named(proxy, "far")
    t.check_eq(resp.status, 200, "status through the forward proxy")
    t.check_eq(resp.body, b"via_forward_proxy 1\n",
               "HTTP_PROXY (upper case, as Go reads it) used")
    t.check_eq(fp.requests(),
               ["GET http://0.0.0.0:%d/metrics HTTP/1.1" % srv.port],
               "what the forward proxy saw")
    t.check_eq(len(srv.requests), 0, "the target not reached directly")
    client.stop()
    proxy.stop()
    proxy, client, _ = start_pair(yml, env={"HTTP_PROXY": fp.url,
                                            "NO_PROXY": "example.com,0.0.0.0"})
    resp = named(proxy, "far")
    t.check_eq(resp.status, 200, "status with NO_PROXY")
    t.check_eq(resp.body, b"direct 1\n", "NO_PROXY honoured: direct")
    t.check_eq(len(fp.requests()), 1, "the forward proxy saw nothing more")
    client.stop()
    proxy.stop()
    fp.close()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
