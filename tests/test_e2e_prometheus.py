#!/usr/bin/python3
"""End to end: a real Prometheus scrapes a real node exporter through our
pushprox-client and pushprox-proxy, all on 127.0.0.1 ephemeral ports.

  Prometheus --(proxy_url, http_sd on /clients)--> pushprox-proxy
  pushprox-client --(poll/push)--> pushprox-proxy
  pushprox-client --(scrape)--> prometheus-node-exporter

The client registers as "localhost", which resolves to the loopback where
the node exporter listens; relabeling appends the node exporter's port to
the discovered FQDN.  Everything is asserted through Prometheus's HTTP API.

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


def api(path, **params):
    port = _env["prometheus"].port
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


def query(expr):
    return api("query", query=expr)["result"]


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


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    try:
        code = runner.run()
    finally:
        if "tmp" in _env:
            shutil.rmtree(_env["tmp"], ignore_errors=True)
    sys.exit(code)
