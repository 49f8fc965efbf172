"""For the security tests: a throw-away PKI made with the openssl command
(CAs, server and client certificates, an expired one), bcrypt hashes
(crypt module), Basic credentials, and HTTPS versions of the raw client
(tls_context, tls_connect, tls_exchange, https_request, tls_scrape,
client_fqdns_tls) and of start_proxy (start_tls_proxy).
"""

import base64
import json
import os
import ssl
import time

from .daemons import run_cmd, start_daemon
from .env import PROXY
from .rawhttp import (IO_TIMEOUT, connect, raw_exchange, request_bytes,
                      scrape_request_bytes)
from .runner import TestFailure, check

__all__ = [
    "OPENSSL", "PKI", "bcrypt_hash", "basic_auth", "tls_context",
    "tls_connect", "tls_exchange", "https_request", "tls_scrape",
    "client_fqdns_tls", "start_tls_proxy",
]


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
