#!/usr/bin/python3
"""Security: TLS, client identities, scraper credentials, the web config
and its reload, and the client's own refusals, with the real
pushprox-proxy and pushprox-client on 127.0.0.1.

A throw-away PKI is made with the openssl command at the start:

  ca         the CA the proxy trusts for clients, and that signed its cert
  server     the proxy's certificate (DNS:localhost, IP:127.0.0.1)
  client-a   DNS:client-a.test        client-b   DNS:client-b.test
  client-l   DNS:localhost  (a real client that can scrape 127.0.0.1)
  wild       DNS:*.wild.test          cn-only    CN=cn-only.test, no SAN
  expired    DNS:client-x.test, valid only 2020-01-01 to 2020-01-02
  foreign    DNS:client-y.test, signed by other-ca (not trusted)

The proxies (each its own process, on TLS):
  P_cert   VerifyClientCertIfGiven, --client.auth=cert, basic_auth_users;
           raw-socket clients played by the tests
  P_real   the same, with real pushprox-client processes
  P_allow  the same, one real client with --scrape.allow
  P_strict RequireAndVerifyClientCert, --client.auth=cert
  P_any    RequireAnyClientCert (unverified certs), --client.auth=cert
  P_token  no client CA, min_version TLS13, --client.auth=token
  P_reload for SIGHUP

Run: PUSHPROX_PROXY=... PUSHPROX_CLIENT=... python3 tests/test_security.py
[test names...]
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402
from pptest import Background  # noqa: E402

USER, PASSWORD = "prom", "s3cret-pw"
PA_OK = [("Proxy-Authorization", t.basic_auth(USER, PASSWORD))]
AUTH_OK = t.basic_auth(USER, PASSWORD)
METRICS_BODY = b"# TYPE sec_metric gauge\nsec_metric 1\n"
TOKENS = {"a": "token-for-client-a-0123456789",
          "w": "token-for-star-tok-test-abcdef",
          "l": "token-for-localhost-xyz"}
NEVER_WAIT = 2.0     # how long a refused client is watched not registering

runner = t.Runner()
_env = {}


# ------------------------------------------------------------ fixtures ---

def once(name, make):
    """_env[name], made by make() the first time (a failure is kept)."""
    if name + ".error" in _env:
        raise t.TestFailure("%s: setup failed earlier: %s" % (
            name, _env[name + ".error"]))
    if name not in _env:
        try:
            _env[name] = make()
        except Exception as e:
            _env[name + ".error"] = str(e)
            raise
    return _env[name]


def tmpdir():
    def make():
        return tempfile.mkdtemp(prefix="pushprox-security-")
    return once("tmp", make)


def pki():
    def make():
        p = t.PKI(os.path.join(tmpdir(), "pki"))
        p.ca("ca", "pushprox test CA")
        p.ca("other-ca", "some other CA")
        p.issue("server", "ca", "localhost", dns=["localhost"],
                ips=["127.0.0.1"], server=True, client=False)
        p.issue("client-a", "ca", "client-a.test", dns=["client-a.test"])
        p.issue("client-b", "ca", "client-b.test", dns=["client-b.test"])
        p.issue("client-l", "ca", "localhost", dns=["localhost"])
        p.issue("wild", "ca", "wild", dns=["*.wild.test"])
        p.issue("cn-only", "ca", "cn-only.test")
        p.issue("expired", "ca", "client-x.test", dns=["client-x.test"],
                expired=True)
        p.issue("foreign", "other-ca", "client-y.test",
                dns=["client-y.test"])
        return p
    return once("pki", make)


def password_hash():
    return once("hash", lambda: t.bcrypt_hash(PASSWORD))


def ctx(cert=None, **kw):
    """A client TLS context trusting our CA, presenting cert if given."""
    p = pki()
    if cert is None:
        return t.tls_context(p.crt("ca"), **kw)
    return t.tls_context(p.crt("ca"), p.crt(cert), p.key(cert), **kw)


def web_config(name, client_auth_type=None, users=True, ca=True,
               extra_tls="", extra=""):
    """Writes PKI_DIR/name.yml with relative paths (resolved against the
    file's folder: the proxy runs elsewhere)."""
    lines = ["tls_server_config:",
             "  cert_file: server.crt",
             "  key_file: server.key"]
    if ca:
        lines.append("  client_ca_file: ca.crt")
    if client_auth_type:
        lines.append("  client_auth_type: " + client_auth_type)
    if extra_tls:
        lines.append(extra_tls)
    if users:
        lines += ["basic_auth_users:", "  %s: %s" % (USER, password_hash())]
    if extra:
        lines.append(extra)
    path = os.path.join(pki().dir, name + ".yml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def target():
    def make():
        tg = t.TargetServer()
        tg.route("/metrics", t.Route(METRICS_BODY))
        tg.route("/probe", t.Route(b"probe_success 1\n"))
        tg.route("/secret", t.Route(b"secret 1\n"))
        tg.route("/headers", t.Route(
            lambda h: json.dumps(list(h.headers.items())).encode()))
        return tg
    return once("target", make)


def cert_proxy(name, client_auth_type="VerifyClientCertIfGiven",
               ready_cert=None):
    def make():
        wc = web_config(name, client_auth_type)
        d = t.start_tls_proxy(wc, "--client.auth=cert", name=name,
                              ctx=ctx(ready_cert))
        d.scraper_ctx = ctx(ready_cert)
        return d
    return once(name, make)


def p_cert():
    return cert_proxy("P_cert")


def p_real():
    return cert_proxy("P_real")


def p_strict():
    return cert_proxy("P_strict", "RequireAndVerifyClientCert",
                      ready_cert="client-a")


def p_any():
    return cert_proxy("P_any", "RequireAnyClientCert",
                      ready_cert="client-a")


def tokens_file():
    def make():
        path = os.path.join(tmpdir(), "tokens")
        sha = {k: hashlib.sha256(v.encode()).hexdigest()
               for k, v in TOKENS.items()}
        with open(path, "w") as f:
            f.write("# SHA-256 of the token, then the FQDNs it may claim\n"
                    "%s client-a.test\n"
                    "\n"
                    "%s *.tok.test   # one label\n"
                    "%s localhost\n" % (sha["a"], sha["w"], sha["l"]))
        for k, v in TOKENS.items():
            with open(os.path.join(tmpdir(), "token-" + k), "w") as f:
                f.write(v + "\n")
        return path
    return once("tokens", make)


def token_path(k):
    tokens_file()
    return os.path.join(tmpdir(), "token-" + k)


def p_token():
    def make():
        wc = web_config("P_token", None, ca=False,
                        extra_tls="  min_version: TLS13")
        return t.start_tls_proxy(wc, "--client.auth=token",
                                 "--client.tokens-file=" + tokens_file(),
                                 name="P_token", ctx=ctx())
    return once("P_token", make)


def registered(proxy, fqdn):
    tls = getattr(proxy, "scraper_ctx", None) or ctx()
    return fqdn in t.client_fqdns_tls(proxy.port, tls, AUTH_OK,
                                      timeout=2.0)


def real_client(proxy, fqdn, cert, *extra, name=None, wait=True,
                cacert="ca"):
    """A real pushprox-client over TLS with cert (None: no client cert),
    trusting the CA cacert; with wait, returns once the proxy lists
    fqdn."""
    p = pki()
    args = ["--tls.cacert=" + p.crt(cacert)]
    if cert:
        args += ["--tls.cert=" + p.crt(cert), "--tls.key=" + p.key(cert)]
    args += list(extra)
    ready = (lambda d: registered(proxy, fqdn)) if wait else None
    return t.start_client("https://127.0.0.1:%d/" % proxy.port, fqdn,
                          *args, name=name or "client-" + fqdn,
                          ready=ready, timeout=10.0)


# -------------------------------------------------- raw client helpers ---

class RawPoll:
    """POST /poll for fqdn over TLS with the given context (and optional
    extra headers); the answer is read in a thread."""

    def __init__(self, proxy, tls, fqdn, headers=None, timeout=15.0):
        self.sock = t.tls_connect(proxy.port, tls, timeout)
        self.local = "127.0.0.1:%d" % self.sock.getsockname()[1]
        data = t.request_bytes("POST", "/poll", "127.0.0.1:%d" % proxy.port,
                               headers, fqdn.encode())
        self.bg = Background(t.tls_exchange, proxy.port, tls, data,
                             timeout, "POST", sock=self.sock)

    def answer(self, timeout=10.0):
        return self.bg.result(timeout)

    def close(self):
        # shutdown first: a plain close() would not end the connection
        # while the reading thread still blocks in recv on it.
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except OSError:
            pass
        # Join the reader before closing: a closed descriptor number is
        # reused by the next connection, which a late recv would then
        # steal TLS records from ("bad record mac" in a new handshake).
        self.bg.thread.join(5.0)
        try:
            self.sock.close()
        except OSError:
            pass


def poll_once(proxy, tls, fqdn, headers=None, timeout=5.0):
    """A poll that should be answered at once (refused): its answer."""
    p = RawPoll(proxy, tls, fqdn, headers, timeout)
    try:
        return p.answer(timeout)
    finally:
        p.close()


def push_message(sid, body):
    return (b"HTTP/1.1 200 OK\r\nId: %s\r\nX-Prometheus-Scrape-Timeout: 10"
            b"\r\nContent-Type: text/plain; version=0.0.4\r\n"
            b"Content-Length: %d\r\n\r\n" % (sid.encode(), len(body))) + body


def raw_push(proxy, tls, sid, body, headers=None):
    return t.https_request(proxy.port, tls, "POST", "/push", headers,
                           push_message(sid, body), timeout=10.0)


def tls_refused(fn):
    """Runs fn (one exchange over TLS); returns a description of how the
    connection was refused (handshake failure, reset, closed), or the
    Response if it got an HTTP answer."""
    try:
        return fn()
    except (ssl.SSLError, ConnectionError, OSError, ValueError) as e:
        return "refused: %s: %s" % (type(e).__name__, e)


def scrape_bg(proxy, tls, hostport, path="/metrics", extra=PA_OK,
              timeout_s=10):
    return Background(t.tls_scrape, proxy.port, tls, hostport, path,
                      timeout_s, list(extra), io_timeout=timeout_s + 5)


def take_scrape(proxy, poll_tls, fqdn, poll_headers=None):
    """A raw poll for fqdn, then a scrape for it; returns (background
    scrape, scrape id, the scrape request the poll got)."""
    poll = RawPoll(proxy, poll_tls, fqdn, poll_headers)
    try:
        t.wait_for(lambda: registered(proxy, fqdn) or poll.bg.done(), 5,
                   "%s registered" % fqdn)
        scraper = scrape_bg(proxy, ctx(), fqdn + ":9100")
        ans = poll.answer(10)
    finally:
        poll.close()
    t.check_eq(ans.status, 200, "poll answer (body %r)" % ans.body)
    req, _ = t.parse_request_bytes(ans.body)
    sid = req.header("Id")
    t.check(sid, "no Id in the scrape request %r" % ans.body)
    return scraper, sid, req


# ----------------------------------------------------------------- PKI ---

@runner.test
def pki_certificates_are_what_the_tests_assume():
    p = pki()
    code, out = p.verify("client-a", "ca")
    t.check_eq(code, 0, "client-a verifies against ca: %s" % out)
    code, out = p.verify("expired", "ca")
    t.check(code != 0 and "expired" in out,
            "the expired certificate must fail only for expiry: %s" % out)
    code, out = p.verify("foreign", "ca")
    t.check(code != 0 and "expired" not in out,
            "the other CA's certificate must not verify: %s" % out)
    code, out = p.verify("foreign", "other-ca")
    t.check_eq(code, 0, "foreign verifies against other-ca: %s" % out)


# ----------------------------------------------------------------- TLS ---

@runner.test
def tls_plain_http_to_tls_port_gets_no_answer():
    proxy = p_cert()
    try:
        resp = t.http_request(proxy.port, "GET", "/metrics", timeout=3)
    except (OSError, ValueError):
        return  # closed or reset: fine
    t.check(resp.status != 200, "plain HTTP got %r from the TLS port" % resp)


@runner.test
def tls_scrape_poll_push_clients_metrics():
    proxy, tg = p_real(), target()
    real_client(proxy, "localhost", "client-l", name="client-l")
    resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % tg.port,
                           extra=PA_OK)
    t.check_eq(resp.status, 200, "scrape status (body %r)" % resp.body)
    t.check_eq(resp.body, METRICS_BODY, "scrape body")
    resp = t.https_request(proxy.port, ctx(), "GET", "/clients",
                           {"Authorization": AUTH_OK})
    t.check_eq(resp.status, 200, "/clients status")
    t.check("localhost" in [x for g in json.loads(resp.body)
                            for x in g["targets"]], "/clients: %r" %
            resp.body)
    resp = t.https_request(proxy.port, ctx(), "GET", "/metrics",
                           {"Authorization": AUTH_OK})
    t.check_eq(resp.status, 200, "/metrics status")
    t.check(b"pushprox_" in resp.body, "/metrics body %r" % resp.body[:200])


@runner.test
def tls_min_version_tls13_refuses_tls12():
    proxy = p_token()
    got = tls_refused(lambda: t.https_request(
        proxy.port, ctx(max_version=ssl.TLSVersion.TLSv1_2), "GET",
        "/metrics", timeout=3))
    t.check(isinstance(got, str), "a TLS 1.2 client got %r" % got)
    resp = t.https_request(proxy.port, ctx(), "GET", "/metrics",
                           {"Authorization": AUTH_OK})
    t.check_eq(resp.status, 200, "TLS 1.3 /metrics")


@runner.test
def client_verifies_the_proxy_certificate():
    # Against our proxy, a client trusting another CA (or only the
    # system's) never registers.
    proxy, p = p_real(), pki()
    bad = real_client(proxy, "badca.wild.test", "wild", wait=False,
                      cacert="other-ca", name="client-badca")
    time.sleep(NEVER_WAIT)
    t.check(bad.alive(), "the client should keep retrying, not exit")
    t.check(not registered(proxy, "badca.wild.test"),
            "a client that cannot verify the proxy registered")


# -------------------------------------------------- client certificates ---

@runner.test
def cert_client_polls_as_its_own_fqdn():
    proxy = p_real()
    real_client(proxy, "client-a.test", "client-a", name="client-a")
    # The raw equivalent, for the certificate's other forms.
    for cert, fqdn in (("wild", "x1.wild.test"),
                       ("cn-only", "cn-only.test"),
                       ("client-a", "CLIENT-A.test")):
        poll = RawPoll(p_cert(), ctx(cert), fqdn)
        try:
            t.wait_for(lambda: registered(p_cert(), fqdn.lower()) or
                       poll.bg.done(), 5, "%s registered" % fqdn)
            t.check(not poll.bg.done(), "%s's poll as %s was answered: %r"
                    % (cert, fqdn, poll.bg.value or poll.bg.error))
        finally:
            poll.close()


@runner.test
def cert_client_claiming_another_fqdn_403_logged():
    proxy = p_cert()
    start = len(proxy.log_text())
    poll = RawPoll(proxy, ctx("client-a"), "client-b.test", timeout=5)
    try:
        resp = poll.answer(5)
    finally:
        poll.close()
    t.check_eq(resp.status, 403, "status (body %r)" % resp.body)
    t.check(b"client-b.test" in resp.body, "body %r" % resp.body)
    m = t.wait_log(proxy, r".*poll rejected.*", start=start)
    line = m.group(0)
    for want in (poll.local, "client-a.test", "client-b.test"):
        t.check(want in line, "log line should name %s: %s" % (want, line))
    t.check(not registered(proxy, "client-b.test"), "client-b.test listed")


@runner.test
def cert_wildcard_matches_one_label_only():
    proxy = p_cert()
    for fqdn in ("a.b.wild.test", "wild.test", "x.wild.test.evil"):
        resp = poll_once(proxy, ctx("wild"), fqdn)
        t.check_eq(resp.status, 403, "*.wild.test claiming %s" % fqdn)
    resp = poll_once(proxy, ctx("cn-only"), "other.test")
    t.check_eq(resp.status, 403, "CN cn-only.test claiming other.test")


@runner.test
def cert_real_client_claiming_another_fqdn_never_registers():
    proxy = p_real()
    c = real_client(proxy, "client-b.test", "client-a", wait=False,
                    name="client-a-as-b")
    time.sleep(NEVER_WAIT)
    t.check(not registered(proxy, "client-b.test"),
            "client A registered as client-b.test")
    t.check(c.alive(), "client died")
    t.check("403" in c.log_text(), "the client's log does not mention the "
            "403:\n%s" % c.tail(10))


@runner.test
def cert_expired_refused():
    for proxy in (p_cert(), p_strict()):
        got = tls_refused(lambda: poll_once(proxy, ctx("expired"),
                                            "client-x.test"))
        t.check(isinstance(got, str) or got.status == 403,
                "%s: expired cert's poll got %r" % (proxy.name, got))
        t.check(not registered(proxy, "client-x.test"), "registered")
    proxy = p_real()
    c = real_client(proxy, "client-x.test", "expired", wait=False,
                    name="client-expired")
    time.sleep(NEVER_WAIT)
    t.check(not registered(proxy, "client-x.test"),
            "a client with an expired certificate registered")
    t.check(c.alive(), "client died")


@runner.test
def cert_from_another_ca_refused():
    for proxy in (p_cert(), p_strict(), p_any()):
        got = tls_refused(lambda: poll_once(proxy, ctx("foreign"),
                                            "client-y.test"))
        t.check(isinstance(got, str) or got.status == 403,
                "%s: other CA's cert's poll got %r" % (proxy.name, got))
        t.check(not registered(proxy, "client-y.test"), "registered")
    # RequireAnyClientCert completes the handshake: the proxy answers 403.
    got = tls_refused(lambda: poll_once(p_any(), ctx("foreign"),
                                        "client-y.test"))
    t.check(not isinstance(got, str) and got.status == 403,
            "P_any: unverified certificate's poll got %r" % (got,))
    proxy = p_real()
    real_client(proxy, "client-y.test", "foreign", wait=False,
                name="client-foreign")
    time.sleep(NEVER_WAIT)
    t.check(not registered(proxy, "client-y.test"),
            "a client with another CA's certificate registered")


@runner.test
def cert_no_certificate_poll_and_push_403():
    proxy = p_cert()
    resp = poll_once(proxy, ctx(), "client-z.test")
    t.check_eq(resp.status, 403, "poll without a certificate")
    resp = raw_push(proxy, ctx(), "no-such-id", b"x 1\n")
    t.check_eq(resp.status, 403, "push without a certificate")
    # Scraper credentials are no client identity.
    resp = poll_once(proxy, ctx(), "client-z.test",
                     {"Authorization": AUTH_OK,
                      "Proxy-Authorization": AUTH_OK})
    t.check_eq(resp.status, 403, "poll with scraper credentials")
    # RequireAndVerifyClientCert: no handshake at all without one.
    got = tls_refused(lambda: t.https_request(p_strict().port, ctx(), "GET",
                                              "/metrics", timeout=3))
    t.check(isinstance(got, str), "P_strict without a cert: %r" % (got,))


@runner.test
def cert_push_by_another_client_403_scrape_waits_for_the_right_one():
    proxy = p_cert()
    scraper, sid, req = take_scrape(proxy, ctx("client-a"), "client-a.test")
    resp = raw_push(proxy, ctx("client-b"), sid, b"pushed_by_b 1\n")
    t.check_eq(resp.status, 403, "B's push of A's scrape (body %r)" %
               resp.body)
    resp = raw_push(proxy, ctx(), sid, b"pushed_by_nobody 1\n")
    t.check_eq(resp.status, 403, "certificate-less push of A's scrape")
    t.check(not scraper.done(), "the scrape ended after a refused push: %r"
            % (scraper.value or scraper.error,))
    resp = raw_push(proxy, ctx("client-a"), sid, b"pushed_by_a 1\n")
    t.check_eq(resp.status, 200, "A's push (body %r)" % resp.body)
    got, _ = scraper.result(10)
    t.check_eq(got.status, 200, "scrape status")
    t.check_eq(got.body, b"pushed_by_a 1\n", "scrape body")
    # The Proxy-Authorization of the scraper never reached the client.
    t.check(not req.has_header("Proxy-Authorization"),
            "Proxy-Authorization handed to the client: %r" % req.headers)


@runner.test
def cert_client_certificate_cannot_scrape():
    proxy = p_cert()
    resp, _ = t.tls_scrape(proxy.port, ctx("client-a"), "client-a.test:9100")
    t.check_eq(resp.status, 407, "scrape with only a client certificate")
    resp = t.https_request(proxy.port, ctx("client-a"), "GET", "/clients")
    t.check_eq(resp.status, 401, "/clients with only a client certificate")


# --------------------------------------------------------------- tokens ---

def bearer(k):
    return {"Authorization": "Bearer " + TOKENS[k]}


@runner.test
def token_missing_or_unknown_401():
    proxy = p_token()
    resp = poll_once(proxy, ctx(), "client-a.test")
    t.check_eq(resp.status, 401, "poll without a token")
    resp = poll_once(proxy, ctx(), "client-a.test",
                     {"Authorization": "Bearer not-a-known-token"})
    t.check_eq(resp.status, 401, "poll with an unknown token")
    resp = raw_push(proxy, ctx(), "no-such-id", b"x 1\n",
                    {"Authorization": "Bearer not-a-known-token"})
    t.check_eq(resp.status, 401, "push with an unknown token")
    resp = raw_push(proxy, ctx(), "no-such-id", b"x 1\n")
    t.check_eq(resp.status, 401, "push without a token")


@runner.test
def token_for_another_fqdn_403():
    proxy = p_token()
    for k, fqdn in (("a", "client-b.test"), ("w", "a.b.tok.test"),
                    ("w", "client-a.test"), ("l", "client-a.test")):
        resp = poll_once(proxy, ctx(), fqdn, bearer(k))
        t.check_eq(resp.status, 403, "token %s claiming %s (body %r)" % (
            k, fqdn, resp.body))
        t.check(TOKENS[k].encode() not in resp.body, "token echoed back")
    t.check(TOKENS["a"] not in proxy.log_text(), "a token in the log")


@runner.test
def token_right_token_accepted():
    proxy = p_token()
    for k, fqdn in (("a", "client-a.test"), ("w", "x.tok.test")):
        poll = RawPoll(proxy, ctx(), fqdn, bearer(k))
        try:
            t.wait_for(lambda: registered(proxy, fqdn) or poll.bg.done(),
                       5, "%s registered" % fqdn)
            t.check(not poll.bg.done(), "the poll was answered: %r" % (
                poll.bg.value or poll.bg.error,))
        finally:
            poll.close()


@runner.test
def token_real_client_with_token_file():
    proxy, tg = p_token(), target()
    real_client(proxy, "localhost", None,
                "--auth.token-file=" + token_path("l"), name="client-token")
    resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % tg.port,
                           extra=PA_OK)
    t.check_eq(resp.status, 200, "scrape through the token client (%r)" %
               resp.body)
    t.check_eq(resp.body, METRICS_BODY, "body")


@runner.test
def token_push_by_another_token_403():
    proxy = p_token()
    scraper, sid, _ = take_scrape(proxy, ctx(), "y.tok.test", bearer("w"))
    resp = raw_push(proxy, ctx(), sid, b"by_a 1\n", bearer("a"))
    t.check_eq(resp.status, 403, "another token's push (body %r)" %
               resp.body)
    t.check(not scraper.done(), "the scrape ended after a refused push")
    resp = raw_push(proxy, ctx(), sid, b"by_w 1\n", bearer("w"))
    t.check_eq(resp.status, 200, "the right token's push")
    got, _ = scraper.result(10)
    t.check_eq((got.status, got.body), (200, b"by_w 1\n"), "scrape")


@runner.test
def token_is_no_scraper_credential_and_back():
    proxy = p_token()
    tok = TOKENS["a"]
    for pa in ("Bearer " + tok, t.basic_auth("client-a.test", tok),
               t.basic_auth(USER, tok)):
        resp, _ = t.tls_scrape(proxy.port, ctx(), "client-a.test:9100",
                               extra=[("Proxy-Authorization", pa)])
        t.check_eq(resp.status, 407, "scrape with %r" % pa[:20])
        resp = t.https_request(proxy.port, ctx(), "GET", "/clients",
                               {"Authorization": pa})
        t.check_eq(resp.status, 401, "/clients with %r" % pa[:20])
    # Scraper credentials do not let anyone poll.
    for h in ({"Authorization": AUTH_OK}, {"Proxy-Authorization": AUTH_OK},
              {"Authorization": "Bearer " + PASSWORD}):
        resp = poll_once(proxy, ctx(), "client-a.test", h)
        t.check_eq(resp.status, 401, "poll with %r" % h)


# ------------------------------------------------------ scraper auth ---

@runner.test
def scraper_without_or_wrong_credentials_407():
    proxy = p_cert()
    cases = [("none", []),
             ("wrong password", [("Proxy-Authorization",
                                  t.basic_auth(USER, "wrong"))]),
             ("unknown user", [("Proxy-Authorization",
                                t.basic_auth("mallory", PASSWORD))]),
             ("empty password", [("Proxy-Authorization",
                                  t.basic_auth(USER, ""))]),
             ("garbage", [("Proxy-Authorization", "Basic !!!")]),
             ("Authorization instead", [("Authorization", AUTH_OK)])]
    for what, extra in cases:
        resp, _ = t.tls_scrape(proxy.port, ctx(), "nobody.test:9100",
                               extra=extra)
        t.check_eq(resp.status, 407, "scrape, %s" % what)
        t.check_eq(resp.header("Proxy-Authenticate"),
                   'Basic realm="pushprox"', "Proxy-Authenticate, %s" % what)
    # The right password passes authentication (no client: 502).
    resp, _ = t.tls_scrape(proxy.port, ctx(), "nobody.test:9100",
                           extra=PA_OK)
    t.check_eq(resp.status, 502, "scrape with the right password")


@runner.test
def scraper_right_password_200():
    proxy, tg = p_real(), target()
    if not registered(proxy, "localhost"):
        real_client(proxy, "localhost", "client-l", name="client-l")
    for _ in range(2):  # the second one hits the success cache
        resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % tg.port,
                               extra=PA_OK)
        t.check_eq(resp.status, 200, "scrape with the right password")
    resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % tg.port,
                           extra=[("Proxy-Authorization",
                                   t.basic_auth(USER, PASSWORD + "x"))])
    t.check_eq(resp.status, 407, "a wrong password after a cached right one")


@runner.test
def clients_and_metrics_need_authorization_401():
    proxy = p_cert()
    for path in ("/clients", "/metrics"):
        for what, h in (("none", None),
                        ("wrong", {"Authorization":
                                   t.basic_auth(USER, "nope")}),
                        ("proxy header", {"Proxy-Authorization": AUTH_OK})):
            resp = t.https_request(proxy.port, ctx(), "GET", path, h)
            t.check_eq(resp.status, 401, "%s, %s" % (path, what))
            t.check((resp.header("WWW-Authenticate") or "").startswith(
                "Basic"), "%s: WWW-Authenticate %r" % (
                    path, resp.header("WWW-Authenticate")))
        resp = t.https_request(proxy.port, ctx(), "GET", path,
                               {"Authorization": AUTH_OK})
        t.check_eq(resp.status, 200, "%s with the right password" % path)


def target_saw(tg, path, secrets):
    """Headers of the requests for path at the target, checked for
    credentials: returns the list of headers of the last request."""
    reqs = tg.requests_for(path)
    t.check(reqs, "the target saw no request for %s" % path)
    for r in reqs:
        for k, v in r.headers:
            t.check(k.lower() not in ("proxy-authorization",
                                      "authorization"),
                    "%s reached the target: %s: %s" % (k, k, v))
            for s in secrets:
                t.check(s not in v and s not in k,
                        "%r reached the target in %s: %s" % (s, k, v))
    return reqs[-1].headers


@runner.test
def credentials_never_reach_the_target():
    proxy, tg = p_real(), target()
    if not registered(proxy, "localhost"):
        real_client(proxy, "localhost", "client-l", name="client-l")
    tg.clear()
    resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % tg.port,
                           "/headers", extra=PA_OK +
                           [("Proxy-Connection", "keep-alive"),
                            ("Keep-Alive", "timeout=5")])
    t.check_eq(resp.status, 200, "scrape status")
    hdrs = target_saw(tg, "/headers", [PA_OK[0][1], PASSWORD])
    names = [k.lower() for k, _ in hdrs]
    for h in ("proxy-connection", "keep-alive"):
        t.check(h not in names, "%s reached the target: %r" % (h, hdrs))


@runner.test
def token_never_reaches_the_target():
    # The client's bearer token stays between it and the proxy.
    proxy, tg = p_token(), target()
    if not registered(proxy, "localhost"):
        real_client(proxy, "localhost", None,
                    "--auth.token-file=" + token_path("l"),
                    name="client-token")
    tg.clear()
    resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % tg.port,
                           "/headers", extra=PA_OK)
    t.check_eq(resp.status, 200, "scrape through the token client")
    target_saw(tg, "/headers", [TOKENS["l"], "Bearer", PA_OK[0][1]])


@runner.test
def connection_listed_headers_never_reach_the_target():
    # RFC 9110 7.6.1: a header named in Connection is hop-by-hop too.
    proxy, tg = p_real(), target()
    if not registered(proxy, "localhost"):
        real_client(proxy, "localhost", "client-l", name="client-l")
    tg.clear()
    data = t.scrape_request_bytes(
        "localhost:%d" % tg.port, "/headers",
        extra=PA_OK + [("X-Hop-Secret", "hop-secret-value")],
        connection_close=False).replace(
            b"\r\n\r\n", b"\r\nConnection: close, X-Hop-Secret\r\n\r\n")
    resp = t.tls_exchange(proxy.port, ctx(), data)
    t.check_eq(resp.status, 200, "scrape status")
    target_saw(tg, "/headers", ["hop-secret-value"])


# ------------------------------------------------------ client options ---

def p_allow():
    def make():
        proxy = cert_proxy("P_allow")
        real_client(proxy, "localhost", "client-l",
                    "--scrape.allow=%d/metrics" % target().port,
                    "--scrape.allow=*/probe", name="client-allow")
        return proxy
    return once("P_allow.client", make)


@runner.test
def scrape_allow_refusal_is_a_403_with_the_reason():
    proxy, tg = p_allow(), target()
    hp = "localhost:%d" % tg.port
    for path in ("/metrics", "/probe"):
        resp, _ = t.tls_scrape(proxy.port, ctx(), hp, path, extra=PA_OK)
        t.check_eq(resp.status, 200, "allowed %s" % path)
    tg.clear()
    resp, _ = t.tls_scrape(proxy.port, ctx(), hp, "/secret", extra=PA_OK)
    t.check_eq(resp.status, 403, "refused path (body %r)" % resp.body)
    t.check(b"/secret" in resp.body and b"allow" in resp.body,
            "the 403 should say what was refused and why: %r" % resp.body)
    t.check(not tg.requests_for("/secret"), "the target was scraped")
    other = t.free_port()
    resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % other,
                           "/metrics", extra=PA_OK)
    t.check_eq(resp.status, 403, "refused port (body %r)" % resp.body)
    t.check(str(other).encode() in resp.body, "the 403 should name the "
            "port: %r" % resp.body)
    resp, _ = t.tls_scrape(proxy.port, ctx(), "localhost:%d" % other,
                           "/probe", extra=PA_OK)
    t.check(resp.status != 403, "*/probe on another port was refused: %r"
            % resp)


@runner.test
def scrape_target_host_sends_scrapes_elsewhere_host_unchanged():
    proxy, tg = p_real(), target()
    fqdn = "th.wild.test"
    real_client(proxy, fqdn, "wild", "--scrape.target-host=127.0.0.1",
                name="client-target-host")
    tg.clear()
    hp = "%s:%d" % (fqdn, tg.port)
    resp, _ = t.tls_scrape(proxy.port, ctx(), hp, "/headers", extra=PA_OK)
    t.check_eq(resp.status, 200, "scrape status (body %r)" % resp.body)
    hdrs = dict((k.lower(), v) for k, v in json.loads(resp.body))
    t.check_eq(hdrs.get("host"), hp, "Host header at the target")


# ---------------------------------------------------- client start-up ---

def client_startup(*args):
    """Runs a client that must refuse to start; (exit code, output)."""
    argv = [t.CLIENT, "--proxy-url=https://127.0.0.1:1/",
            "--fqdn=client-a.test", "--metrics-addr="] + list(args)
    try:
        code, out, err = t.run_cmd(argv, timeout=4)
    except Exception as e:  # TimeoutExpired: it ran on (and was killed)
        raise t.TestFailure("%s: still running after 4s instead of "
                            "exiting 1 (%s)" % (" ".join(args), e))
    return code, out + err


@runner.test
def client_refuses_unreadable_or_mismatched_tls_files():
    p = pki()
    garbage = os.path.join(tmpdir(), "garbage.pem")
    with open(garbage, "w") as f:
        f.write("this is not a PEM file\n")
    missing = os.path.join(tmpdir(), "no-such-file.key")
    cases = [
        ("missing key", missing,
         ["--tls.cert=" + p.crt("client-a"), "--tls.key=" + missing]),
        ("garbage key", garbage,
         ["--tls.cert=" + p.crt("client-a"), "--tls.key=" + garbage]),
        ("garbage cert", garbage,
         ["--tls.cert=" + garbage, "--tls.key=" + p.key("client-a")]),
        ("mismatched key", p.key("client-b"),
         ["--tls.cert=" + p.crt("client-a"),
          "--tls.key=" + p.key("client-b")]),
        ("missing CA", missing, ["--tls.cacert=" + missing]),
    ]
    bad = []
    for what, path, args in cases:
        try:
            code, out = client_startup(*args)
        except t.TestFailure as e:
            bad.append("%s: %s" % (what, e))
            continue
        if code != 1 or path not in out:
            bad.append("%s: exit %s, output should name %s: %r" % (
                what, code, path, out[-300:]))
    t.check(not bad, "\n".join(bad))


@runner.test
def client_refuses_bad_token_file_and_allow_pattern():
    missing = os.path.join(tmpdir(), "no-such-token")
    bad = []
    for what, want, args in (
            ("missing token file", missing, ["--auth.token-file=" + missing]),
            ("bad allow pattern", "scrape.allow",
             ["--scrape.allow=not a pattern"])):
        try:
            code, out = client_startup(*args)
        except t.TestFailure as e:
            bad.append("%s: %s" % (what, e))
            continue
        if code != 1 or want not in out:
            bad.append("%s: exit %s, output should name %s: %r" % (
                what, code, want, out[-300:]))
    t.check(not bad, "\n".join(bad))


# --------------------------------------------------------- web config ---

def proxy_startup(wc, *extra):
    """Runs a proxy that must refuse to start; (exit code, output)."""
    argv = [t.PROXY, "--web.listen-address=127.0.0.1:%d" % t.free_port(),
            "--web.config.file=" + wc] + list(extra)
    try:
        code, out, err = t.run_cmd(argv, timeout=4)
    except Exception as e:
        raise t.TestFailure("%s: still running after 4s instead of exiting "
                            "1 (%s)" % (os.path.basename(wc), e))
    return code, out + err


def bad_config(name, text):
    path = os.path.join(pki().dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


@runner.test
def web_config_errors_at_start_exit_1_naming_file_line_key():
    h = password_hash()
    tls = ("tls_server_config:\n  cert_file: server.crt\n"
           "  key_file: server.key\n")
    cases = [
        ("unknown top-level key", bad_config(
            "bad-key.yml", tls + "basic_auth_users:\n  %s: %s\n"
            "http_server_config:\n  http2: false\n" % (USER, h)),
         ["line 6", "http_server_config"]),
        ("unknown tls key", bad_config(
            "bad-tls-key.yml", tls + "  client_ca: ca.crt\n"),
         ["line 4", "client_ca"]),
        ("bad client_auth_type", bad_config(
            "bad-auth-type.yml", tls + "  client_ca_file: ca.crt\n"
            "  client_auth_type: RequireClientCert\n"),
         ["line 5", "client_auth_type", "RequireClientCert"]),
        ("plain-text password", bad_config(
            "bad-hash.yml", "basic_auth_users:\n  %s: %s\n" % (
                USER, PASSWORD)),
         ["line 2", USER, "bcrypt"]),
        ("bad min_version", bad_config(
            "bad-version.yml", tls + "  min_version: TLS14\n"),
         ["line 4", "min_version", "TLS14"]),
        ("verifying without client_ca_file", bad_config(
            "bad-no-ca.yml", tls +
            "  client_auth_type: RequireAndVerifyClientCert\n"),
         ["client_ca_file"]),
    ]
    bad = []
    for what, wc, wants in cases:
        code, out = proxy_startup(wc)
        missing = [w for w in [wc] + wants if w not in out]
        if code != 1 or missing:
            bad.append("%s: exit %s, output lacks %r: %r" % (
                what, code, missing, out[-400:]))
    t.check(not bad, "\n".join(bad))


@runner.test
def web_config_key_not_matching_cert_or_missing_file_exit_1():
    p = pki()
    cases = [
        ("key of another certificate", bad_config(
            "bad-keypair.yml", "tls_server_config:\n  cert_file: server.crt"
            "\n  key_file: client-a.key\n"), p.key("client-a")),
        ("missing cert_file", bad_config(
            "bad-missing.yml", "tls_server_config:\n  cert_file: nope.crt\n"
            "  key_file: server.key\n"), os.path.join(p.dir, "nope.crt")),
    ]
    bad = []
    for what, wc, want in cases:
        code, out = proxy_startup(wc)
        if code != 1 or want not in out:
            bad.append("%s: exit %s, output should name %s: %r" % (
                what, code, want, out[-400:]))
    # --client.auth=cert without a client CA; a broken tokens file.
    code, out = proxy_startup(web_config("no-ca", None, ca=False),
                              "--client.auth=cert")
    if code != 1 or "client_ca_file" not in out:
        bad.append("cert mode without client_ca_file: exit %s: %r" % (
            code, out[-300:]))
    tf = bad_config("bad-tokens", "# comment\nnot-a-sha256 client-a.test\n")
    code, out = proxy_startup(web_config("tok-ok", None, ca=False),
                              "--client.auth=token",
                              "--client.tokens-file=" + tf)
    if code != 1 or tf not in out or "line 2" not in out:
        bad.append("bad tokens file: exit %s: %r" % (code, out[-300:]))
    t.check(not bad, "\n".join(bad))


@runner.test
def web_config_sighup_reload_good_then_bad():
    wc = os.path.join(pki().dir, "reload.yml")
    tls = ("tls_server_config:\n  cert_file: server.crt\n"
           "  key_file: server.key\n")
    with open(wc, "w") as f:
        f.write(tls + "basic_auth_users:\n  %s: %s\n" % (USER,
                                                        password_hash()))
    proxy = t.start_tls_proxy(wc, name="P_reload", ctx=ctx())
    new_pw = "new-" + PASSWORD
    new_auth = t.basic_auth(USER, new_pw)

    def clients(auth, sock=None):
        return t.https_request(proxy.port, ctx(), "GET", "/clients",
                               {"Authorization": auth}, sock=sock).status

    keep = t.tls_connect(proxy.port, ctx())
    poll = RawPoll(proxy, ctx(), "reload.test")
    try:
        t.check_eq(clients(AUTH_OK, keep), 200, "old password, kept conn")
        t.wait_for(lambda: registered(proxy, "reload.test"), 5,
                   "reload.test registered")
        # A good new file: the new password works, the old one no more.
        with open(wc, "w") as f:
            f.write(tls + "basic_auth_users:\n  %s: %s\n" % (
                USER, t.bcrypt_hash(new_pw)))
        n = proxy.log_text().count("configuration loaded")
        os.kill(proxy.pid, signal.SIGHUP)
        t.wait_for(lambda: proxy.log_text().count("configuration loaded")
                   > n, 5, "the reload to be logged")
        t.check_eq(clients(new_auth), 200, "new password after reload")
        t.check_eq(clients(AUTH_OK), 401, "old password after reload")
        t.check_eq(clients(new_auth, keep), 200, "the kept connection")
        # A bad file: logged as an error, the previous config stays.
        start = len(proxy.log_text())
        with open(wc, "w") as f:
            f.write(tls + "  bogus_key: 1\n")
        os.kill(proxy.pid, signal.SIGHUP)
        m = t.wait_log(proxy, r".*level=error.*", start=start)
        t.check("reload.yml" in m.group(0) and "bogus_key" in m.group(0),
                "the error should name the file and key: %s" % m.group(0))
        t.check(proxy.alive(), "the proxy exited on a bad reload")
        t.check_eq(clients(new_auth), 200, "password after a bad reload")
        t.check_eq(clients(AUTH_OK), 401, "old password after a bad reload")
        t.check_eq(clients(new_auth, keep), 200, "the kept connection")
        # The poll parked before both reloads still takes a scrape.
        scraper = scrape_bg(proxy, ctx(), "reload.test:9100",
                            extra=[("Proxy-Authorization", new_auth)])
        ans = poll.answer(10)
        t.check_eq(ans.status, 200, "the parked poll's answer")
        req, _ = t.parse_request_bytes(ans.body)
        resp = raw_push(proxy, ctx(), req.header("Id"), b"reloaded 1\n")
        t.check_eq(resp.status, 200, "push")
        got, _ = scraper.result(10)
        t.check_eq((got.status, got.body), (200, b"reloaded 1\n"), "scrape")
    finally:
        poll.close()
        keep.close()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    try:
        code = runner.run()
    finally:
        if "tmp" in _env:
            shutil.rmtree(_env["tmp"], ignore_errors=True)
    sys.exit(code)
