#!/usr/bin/python3
"""End to end: a real Prometheus scrapes a real node exporter through our
pushprox-client and pushprox-proxy, all on 127.0.0.1 ephemeral ports.

  Prometheus --(proxy_url, http_sd on /clients)--> pushprox-proxy
  pushprox-client --(poll/push)--> pushprox-proxy
  pushprox-client --(scrape)--> prometheus-node-exporter

The client registers as "localhost", which resolves to the loopback where
the node exporter listens; relabeling appends the node exporter's port to
the discovered FQDN.  Everything is asserted through Prometheus's HTTP API.

Then the same once more with TLS and credentials everywhere, as
docs/security.md recommends: a second proxy with a web config (TLS,
client_ca_file, RequireAndVerifyClientCert, basic_auth_users) and
--client.auth=cert, a client with its own certificate, and a second
Prometheus whose job uses `proxy_url: https://USER:PASS@...` with a
tls_config (Go's transport uses the scrape's TLS settings for an https
proxy) and http_sd on https /clients with basic_auth and tls_config.  A
second job there has a wrong proxy password: its target must be down with
a 407.  Certificates are made with the openssl command at test time.

Needs /usr/bin/prometheus and /usr/bin/prometheus-node-exporter (Debian's
prometheus and prometheus-node-exporter packages; .ci/deps installs them).
"""

import json
import os
import shutil
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pushprox_test as t  # noqa: E402

PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
NODE_EXPORTER = os.environ.get("NODE_EXPORTER",
                               "/usr/bin/prometheus-node-exporter")
FQDN = "localhost"
JOB = "pushprox"
WAIT = 60.0

runner = t.Runner()
_env = {}

CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: {job}
    proxy_url: http://127.0.0.1:{proxy_port}/
    http_sd_configs:
      - url: http://127.0.0.1:{proxy_port}/clients
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [__address__]
        regex: '(.*)'
        target_label: __address__
        replacement: '${{1}}:{node_port}'
"""


def api(path, _prom="prometheus", **params):
    port = _env[_prom].port
    target = "/api/v1/" + path
    if params:
        target += "?" + urllib.parse.urlencode(params)
    resp = t.http_request(port, "GET", target, timeout=5)
    if resp.status != 200:
        raise ValueError("%s: HTTP %d %r" % (target, resp.status,
                                             resp.body[:200]))
    doc = json.loads(resp.body)
    if doc.get("status") != "success":
        raise ValueError("%s: %r" % (target, doc))
    return doc["data"]


def query(expr, _prom="prometheus"):
    return api("query", _prom, query=expr)["result"]


def setup():
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "prometheus" in _env:
        return
    try:
        for b in (PROMETHEUS, NODE_EXPORTER):
            t.check(os.access(b, os.X_OK), "%s is not installed (apt-get "
                    "install prometheus prometheus-node-exporter)" % b)
        node = t.start_daemon(
            "node-exporter",
            lambda ports: [NODE_EXPORTER,
                           "--web.listen-address=127.0.0.1:%d" % ports[0],
                           "--collector.disable-defaults",
                           "--collector.loadavg", "--collector.meminfo",
                           "--collector.time", "--collector.uname"],
            lambda d: t.http_request(d.port, "GET", "/metrics",
                                     timeout=2).status == 200,
            check_exit=False)
        proxy = t.start_proxy()
        client = t.start_client("http://127.0.0.1:%d/" % proxy.port, FQDN,
                                registered_at=proxy.port)
        tmp = tempfile.mkdtemp(prefix="pushprox-e2e-")
        _env["tmp"] = tmp
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(job=JOB, proxy_port=proxy.port,
                                  node_port=node.port))
        prom = t.start_daemon(
            "prometheus",
            lambda ports: [PROMETHEUS, "--config.file=" + cfg,
                           "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                           "--web.listen-address=127.0.0.1:%d" % ports[0]],
            lambda d: t.http_request(d.port, "GET", "/-/ready",
                                     timeout=2).status == 200,
            timeout=30, check_exit=False)
        _env.update(node=node, proxy=proxy, client=client, prometheus=prom)
    except Exception as e:
        _env["error"] = str(e)
        raise


def instance():
    return "%s:%d" % (FQDN, _env["node"].port)


@runner.test
def target_discovered_and_up():
    setup()
    state = {}

    def up():
        state["targets"] = api("targets", state="active")["activeTargets"]
        res = query('up{job="%s"}' % JOB)
        state["up"] = res
        return any(r["metric"].get("instance") == instance() and
                   r["value"][1] == "1" for r in res)

    try:
        t.wait_for(up, WAIT, "up{job=%r,instance=%r} == 1" % (JOB,
                                                            instance()),
                   interval=0.5)
    except t.TestFailure as e:
        raise t.TestFailure("%s\nup: %s\nactive targets: %s" % (
            e, json.dumps(state.get("up")),
            json.dumps(state.get("targets"), indent=1)[:3000]))
    targets = [x for x in state["targets"]
               if x["labels"].get("job") == JOB]
    t.check_eq([x["labels"].get("instance") for x in targets], [instance()],
               "discovered instances")
    t.check_eq(targets[0]["health"], "up", "target health")


@runner.test
def node_series_arrived():
    setup()
    expr = 'node_time_seconds{job="%s",instance="%s"}' % (JOB, instance())
    res = t.wait_for(lambda: query(expr), WAIT, expr, interval=0.5)
    t.check(float(res[0]["value"][1]) > 1e9, "node_time_seconds %r" % res)
    res = query('count({job="%s",__name__=~"node_.+"})' % JOB)
    t.check(res and float(res[0]["value"][1]) >= 10,
            "too few node_ series: %r" % res)


@runner.test
def scrapes_keep_succeeding():
    # Several scrape intervals in a row, all through the proxy.
    setup()
    expr = 'sum_over_time(up{job="%s"}[10s])' % JOB
    res = t.wait_for(lambda: [r for r in query(expr)
                              if float(r["value"][1]) >= 3],
                     WAIT, "three successful scrapes", interval=0.5)
    t.check(res, "no successful scrapes")
    expr = 'count_over_time(up{job="%s"}[10s]) - sum_over_time(' \
        'up{job="%s"}[10s])' % (JOB, JOB)
    failed = query(expr)
    t.check(failed and float(failed[0]["value"][1]) == 0,
            "failed scrapes in the last 10s: %r" % failed)


# ------------------------------------------- TLS and credentials run ---

TLS_JOB = "pushprox_tls"
BADPW_JOB = "pushprox_badpw"
TLS_USER, TLS_PASSWORD = "prometheus", "e2e-s3cret"

TLS_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: {tls_job}
    proxy_url: https://{user}:{password}@127.0.0.1:{proxy_port}/
    tls_config: &tls
      ca_file: {ca}
      cert_file: {cert}
      key_file: {key}
    http_sd_configs: &sd
      - url: https://127.0.0.1:{proxy_port}/clients
        refresh_interval: 1s
        basic_auth:
          username: {user}
          password: {password}
        tls_config: *tls
    relabel_configs: &relabel
      - source_labels: [__address__]
        regex: '(.*)'
        target_label: __address__
        replacement: '${{1}}:{node_port}'
  - job_name: {bad_job}
    proxy_url: https://{user}:wrong-{password}@127.0.0.1:{proxy_port}/
    tls_config: *tls
    http_sd_configs: *sd
    relabel_configs: *relabel
"""


def setup_tls():
    if "tls_error" in _env:
        raise t.TestFailure("TLS setup failed earlier: %s" %
                            _env["tls_error"])
    if "prometheus_tls" in _env:
        return
    try:
        setup()     # the node exporter and the temporary folder
        tmp = os.path.join(_env["tmp"], "tls")
        pki = t.PKI(os.path.join(tmp, "pki"))
        pki.ca("ca", "pushprox e2e CA")
        pki.issue("server", "ca", "localhost", dns=["localhost"],
                  ips=["127.0.0.1"], server=True, client=False)
        pki.issue("client", "ca", FQDN, dns=[FQDN])
        # The scraper's certificate names no client FQDN.
        pki.issue("prometheus", "ca", "prometheus-scraper")
        wc = os.path.join(pki.dir, "web.yml")
        with open(wc, "w") as f:
            f.write("tls_server_config:\n"
                    "  cert_file: server.crt\n"
                    "  key_file: server.key\n"
                    "  client_ca_file: ca.crt\n"
                    "  client_auth_type: RequireAndVerifyClientCert\n"
                    "basic_auth_users:\n"
                    "  %s: %s\n" % (TLS_USER, t.bcrypt_hash(TLS_PASSWORD)))
        ctx = t.tls_context(pki.crt("ca"), pki.crt("prometheus"),
                            pki.key("prometheus"))
        auth = t.basic_auth(TLS_USER, TLS_PASSWORD)
        proxy = t.start_tls_proxy(wc, "--client.auth=cert",
                                  name="proxy-tls", ctx=ctx)
        client = t.start_client(
            "https://127.0.0.1:%d/" % proxy.port, FQDN,
            "--tls.cacert=" + pki.crt("ca"),
            "--tls.cert=" + pki.crt("client"),
            "--tls.key=" + pki.key("client"), name="client-tls",
            ready=lambda d: FQDN in t.client_fqdns_tls(proxy.port, ctx,
                                                       auth, timeout=1.0))
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(TLS_CONFIG.format(
                tls_job=TLS_JOB, bad_job=BADPW_JOB, user=TLS_USER,
                password=TLS_PASSWORD, proxy_port=proxy.port,
                node_port=_env["node"].port, ca=pki.crt("ca"),
                cert=pki.crt("prometheus"), key=pki.key("prometheus")))
        prom = t.start_daemon(
            "prometheus-tls",
            lambda ports: [PROMETHEUS, "--config.file=" + cfg,
                           "--storage.tsdb.path=" + os.path.join(tmp,
                                                                 "data"),
                           "--web.listen-address=127.0.0.1:%d" % ports[0]],
            lambda d: t.http_request(d.port, "GET", "/-/ready",
                                     timeout=2).status == 200,
            timeout=30, check_exit=False)
        _env.update(proxy_tls=proxy, client_tls=client, prometheus_tls=prom)
    except Exception as e:
        _env["tls_error"] = str(e)
        raise


def tls_targets(job):
    return [x for x in api("targets", "prometheus_tls",
                           state="active")["activeTargets"]
            if x["labels"].get("job") == job]


@runner.test
def tls_target_discovered_and_up():
    setup_tls()
    state = {}

    def up():
        state["targets"] = tls_targets(TLS_JOB)
        res = query('up{job="%s"}' % TLS_JOB, "prometheus_tls")
        return any(r["metric"].get("instance") == instance() and
                   r["value"][1] == "1" for r in res)

    try:
        t.wait_for(up, WAIT, "up{job=%r} == 1 over TLS" % TLS_JOB,
                   interval=0.5)
    except t.TestFailure as e:
        raise t.TestFailure("%s\ntargets: %s" % (
            e, json.dumps(state.get("targets"), indent=1)[:3000]))
    t.check_eq([x["labels"].get("instance") for x in state["targets"]],
               [instance()], "discovered instances")


@runner.test
def tls_node_series_arrived():
    setup_tls()
    expr = 'node_time_seconds{job="%s",instance="%s"}' % (TLS_JOB,
                                                          instance())
    res = t.wait_for(lambda: query(expr, "prometheus_tls"), WAIT, expr,
                     interval=0.5)
    t.check(float(res[0]["value"][1]) > 1e9, "node_time_seconds %r" % res)
    res = query('count({job="%s",__name__=~"node_.+"})' % TLS_JOB,
                "prometheus_tls")
    t.check(res and float(res[0]["value"][1]) >= 10,
            "too few node_ series: %r" % res)


@runner.test
def tls_wrong_proxy_password_target_down_407():
    setup_tls()
    state = {}

    def down():
        state["targets"] = targets = tls_targets(BADPW_JOB)
        return [x for x in targets if x["health"] == "down" and
                "407" in x.get("lastError", "")]

    try:
        got = t.wait_for(down, WAIT, "job %s down with a 407" % BADPW_JOB,
                         interval=0.5)
    except t.TestFailure as e:
        raise t.TestFailure("%s\ntargets: %s" % (
            e, json.dumps(state.get("targets"), indent=1)[:3000]))
    t.check_eq(got[0]["labels"].get("instance"), instance(), "instance")
    res = query('up{job="%s"}' % BADPW_JOB, "prometheus_tls")
    t.check(res and all(r["value"][1] == "0" for r in res),
            "up of the wrong-password job: %r" % res)
    log = _env["proxy_tls"].log_text()
    t.check("authentication failed" in log and "wrong password" in log,
            "the proxy did not log the failed authentication")
    t.check("wrong-" + TLS_PASSWORD not in log, "a password in the log")


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    try:
        code = runner.run()
    finally:
        if "tmp" in _env:
            shutil.rmtree(_env["tmp"], ignore_errors=True)
    sys.exit(code)
