#!/usr/bin/python3
"""End to end, issue 10: a real Prometheus whose configuration is ONLY
proxy_url and one http_sd entry on the proxy's /targets, with no
relabelling, scrapes three kinds of exporter behind one pushprox-client:

  - node:   a real prometheus-node-exporter on a TCP port (a static
            target of the client's --targets.file);
  - xesite: a service that listens only on a Unix socket, found through
            socket_dirs (the Aegis model: one target per *.sock);
  - plugin: an exporter on a random port that starts after the client and
            announces itself by dropping a file into the include directory
            (the go-plugin-prom model), and leaves by deleting it.

Asserted through Prometheus's HTTP API: all three up, each with its labels
(the client's `site`, the target's own) and a distinct `instance`
(FQDN/NAME); the plugin appears without restarting anything and
disappears after its file is removed; after the proxy is killed with
SIGKILL and restarted on the same port, /targets lists the client's
targets again within one poll cycle and Prometheus scrapes them again.

Needs prometheus and prometheus-node-exporter (.ci/deps installs them).
"""

import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402
from pptest import external as x  # noqa: E402

FQDN = "e2e-targets.test"
JOB = "pushprox"
WAIT = 30.0
runner = t.Runner()
_env = {}

PROM_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: {job}
    proxy_url: http://127.0.0.1:{proxy_port}/
    http_sd_configs:
      - url: http://127.0.0.1:{proxy_port}/targets
        refresh_interval: 1s
"""

TARGETS_FILE = """\
labels: {{site: e2e}}
targets:
  - name: node
    url: http://127.0.0.1:{node_port}/metrics
    labels: {{team: infra}}
socket_dirs:
  - dir: {run_dir}
    path: /metrics
    labels: {{via: aegis}}
include:
  - {include_dir}
"""

PLUGIN_FILE = """\
name: plugin-hello
url: http://127.0.0.1:{port}/metrics
labels: {{plugin: hello}}
"""

XESITE_BODY = (b"# TYPE xesite_requests_total counter\n"
               b"xesite_requests_total 42\n")
PLUGIN_BODY = b"# TYPE plugin_hello_up gauge\nplugin_hello_up 1\n"


def setup():
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "prometheus" in _env:
        return
    try:
        x.require_external(x.PROMETHEUS, x.NODE_EXPORTER)
        tmp = tempfile.mkdtemp(prefix="pushprox-e2e-targets-")
        run_dir = os.path.join(tmp, "run")
        include_dir = os.path.join(tmp, "targets.d")
        os.mkdir(run_dir)
        os.mkdir(include_dir)
        _env.update(tmp=tmp, run_dir=run_dir, include_dir=include_dir)
        node = x.start_node_exporter()
        xesite = x.UnixHTTPServer(os.path.join(run_dir, "xesite.sock"),
                                  XESITE_BODY)
        tfile = os.path.join(tmp, "targets.yml")
        with open(tfile, "w") as f:
            f.write(TARGETS_FILE.format(node_port=node.port, run_dir=run_dir,
                                        include_dir=include_dir))
        proxy = t.start_proxy(log_level="info")
        client = t.start_client("http://127.0.0.1:%d/" % proxy.port, FQDN,
                                "--targets.file=" + tfile,
                                registered_at=proxy.port)
        _env.update(node=node, xesite=xesite, proxy=proxy, client=client)
        _env["prometheus"] = x.start_prometheus(
            PROM_CONFIG.format(job=JOB, proxy_port=proxy.port), tmp)
    except Exception as e:
        _env["error"] = str(e)
        raise


def proxy_targets():
    """{instance: labels} from the proxy's GET /targets."""
    resp = t.http_request(_env["proxy"].port, "GET", "/targets", timeout=3)
    if resp.status != 200:
        raise ValueError("GET /targets: %d %r" % (resp.status,
                                                  resp.body[:200]))
    return {g["labels"].get("instance"): g["labels"]
            for g in json.loads(resp.body)}


def prom_by_instance():
    return {tg["labels"].get("instance"): tg
            for tg in x.prom_targets(_env["prometheus"], JOB)}


def inst(name):
    return "%s/%s" % (FQDN, name)


def wait_up(names, since=0.0, timeout=WAIT):
    state = {}

    def ok():
        state["t"] = got = prom_by_instance()
        return all(inst(n) in got and got[inst(n)]["health"] == "up" and
                   x.prom_time(got[inst(n)].get("lastScrape")) > since
                   for n in names)
    try:
        t.wait_for(ok, timeout, "targets %s up in Prometheus" %
                   ", ".join(names), interval=0.5)
    except t.TestFailure as e:
        raise t.TestFailure("%s; Prometheus has: %r" % (e, {
            k: (v["health"], v.get("lastError"), v.get("scrapeUrl"))
            for k, v in state.get("t", {}).items()}))
    return state["t"]


@runner.test
def node_and_unix_socket_service_up_with_labels():
    setup()
    got = wait_up(["node", "xesite"])
    node, xes = got[inst("node")], got[inst("xesite")]
    t.check_eq(node["labels"].get("site"), "e2e", "node's client label")
    t.check_eq(node["labels"].get("team"), "infra", "node's own label")
    t.check_eq(xes["labels"].get("site"), "e2e", "xesite's client label")
    t.check_eq(xes["labels"].get("via"), "aegis", "xesite's socket_dirs "
               "label")
    t.check_eq(node["labels"].get("job"), JOB, "job")
    t.check("team" not in xes["labels"], "a label leaked across targets")
    disc = node.get("discoveredLabels", {})
    t.check_eq(disc.get("__meta_pushprox_fqdn"), FQDN, "meta fqdn")
    t.check_eq(disc.get("__meta_pushprox_target"), "node", "meta target")
    t.check(node["scrapeUrl"].endswith(":0/pushprox/targets/node/metrics"),
            "scrape URL %r" % node["scrapeUrl"])


@runner.test
def series_of_each_target_arrived():
    setup()
    prom = _env["prometheus"]
    expr = 'node_time_seconds{instance="%s"}' % inst("node")
    res = t.wait_for(lambda: x.prom_query(prom, expr), WAIT, expr,
                     interval=0.5)
    t.check(float(res[0]["value"][1]) > 1e9, "node_time_seconds %r" % res)
    expr = 'xesite_requests_total{instance="%s",via="aegis"}' % \
        inst("xesite")
    res = t.wait_for(lambda: x.prom_query(prom, expr), WAIT, expr,
                     interval=0.5)
    t.check_eq(res[0]["value"][1], "42", "xesite_requests_total")
    t.check(_env["xesite"].paths and
            all(p == "/metrics" for p in _env["xesite"].paths),
            "paths asked of the socket service: %r" %
            _env["xesite"].paths[:5])


@runner.test
def plugin_appears_without_restart():
    setup()
    plugin = t.TargetServer()
    plugin.route("/metrics", t.Route(body=PLUGIN_BODY))
    _env["plugin"] = plugin
    client_pid = _env["client"].pid
    proxy_pid = _env["proxy"].pid
    path = os.path.join(_env["include_dir"], "plugin-hello.yml")
    tmp = os.path.join(_env["include_dir"], ".plugin-hello.yml.tmp")
    with open(tmp, "w") as f:
        f.write(PLUGIN_FILE.format(port=plugin.port))
    os.rename(tmp, path)
    t0 = time.monotonic()
    got = wait_up(["plugin-hello"])
    print("     plugin up in Prometheus %.1fs after its file appeared" % (
        time.monotonic() - t0), flush=True)
    lab = got[inst("plugin-hello")]["labels"]
    t.check_eq(lab.get("plugin"), "hello", "plugin's label")
    t.check_eq(lab.get("site"), "e2e", "plugin's client label")
    instances = sorted(k for k in got if k)
    t.check_eq(instances, sorted(inst(n) for n in
                                 ("node", "xesite", "plugin-hello")),
               "distinct instances of the job")
    t.check_eq((_env["client"].pid, _env["proxy"].pid),
               (client_pid, proxy_pid), "nothing was restarted")
    t.check(_env["client"].alive() and _env["proxy"].alive(),
            "client and proxy still running")
    expr = 'plugin_hello_up{instance="%s"}' % inst("plugin-hello")
    t.wait_for(lambda: x.prom_query(_env["prometheus"], expr), WAIT, expr,
               interval=0.5)


@runner.test
def plugin_disappears_after_its_file_is_removed():
    setup()
    t.check("plugin" in _env, "the plugin test did not run")
    os.unlink(os.path.join(_env["include_dir"], "plugin-hello.yml"))
    t.wait_for(lambda: inst("plugin-hello") not in proxy_targets(), 10,
               "plugin-hello gone from the proxy's /targets", interval=0.2)
    t.wait_for(lambda: inst("plugin-hello") not in prom_by_instance(), 15,
               "plugin-hello gone from Prometheus's active targets",
               interval=0.5)
    got = prom_by_instance()
    t.check(inst("node") in got and inst("xesite") in got,
            "the other targets went too: %r" % sorted(got))


@runner.test
def targets_back_within_a_poll_cycle_after_proxy_restart():
    setup()
    old = _env["proxy"]
    old.kill()
    t0 = time.monotonic()
    proxy = t.start_proxy(name="proxy-again", port=old.port,
                          log_level="info")
    _env["proxy"] = proxy
    started = time.monotonic() - t0
    # One poll cycle: the client's back-off toward a dead proxy is at most
    # 500 ms here (start_client's --proxy.retry.max-wait), then a poll,
    # "Pushprox-Advertise: required", the advertisement, the next poll.
    want = {inst("node"), inst("xesite")}
    t.wait_for(lambda: want <= set(proxy_targets()), 3.0,
               "node and xesite in the restarted proxy's /targets",
               interval=0.1)
    took = time.monotonic() - t0
    print("     /targets complete again %.2fs after the kill (proxy up "
          "after %.2fs)" % (took, started), flush=True)
    got = proxy_targets()
    t.check_eq(sorted(got), sorted(want), "restarted proxy's /targets")
    t.check_eq(got[inst("node")].get("team"), "infra", "labels after the "
               "restart")
    wait_up(["node", "xesite"], since=time.time())


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    try:
        code = runner.run()
    finally:
        if "xesite" in _env:
            _env["xesite"].close()
        if "tmp" in _env:
            shutil.rmtree(_env["tmp"], ignore_errors=True)
    sys.exit(code)
