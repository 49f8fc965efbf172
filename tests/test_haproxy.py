#!/usr/bin/python3
"""Sharding a fleet over several proxies behind HAProxy (issue 11), with
the shipped docs/examples/haproxy.cfg, real daemons, all on 127.0.0.1:

  Prometheus --proxy_url--> HAProxy --hash(FQDN)--> proxy1 | proxy2 | proxy3
  50 pushprox-clients c01.test ... c50.test --poll/push--> HAProxy
  Prometheus --http_sd, one entry per proxy--> each proxy's /clients

Every client runs --scrape.target-host=127.0.0.1 against one shared
TargetServer, which answers each scrape with a body naming the FQDN of its
Host header, so that a scrape answered by another client's target is
detected.  The balancer hashes our client's Pushprox-Fqdn header (polls,
pushes) and the host part of a scrape's Host on one consistent ring, so a
client and its scrapes land on the same proxy, and each proxy's /clients
lists a disjoint share of the fleet (discovery sees each target once).

Then the failure the sharding must survive: kill -9 the proxy holding the
most clients, mid-poll (its clients have polls parked on it).  HAProxy's
health check on /-/ready marks it down, its clients re-poll onto the
ring's next proxy, and every target must be up again in Prometheus within
15 s, while the clients of the other proxies never miss a scrape and no
scrape (direct ones through HAProxy, in a loop during the kill, and
Prometheus's own) is ever answered with another client's metrics.  Then
the proxy comes back on its port: its keys move back to it and its
clients follow at their next poll (--poll.timeout, 5 s here).

Fails without Pushprox-Fqdn (polls would all hash on the balancer's own
Host and land on one proxy) and without /-/ready (HAProxy marks every
proxy down).  Needs haproxy and prometheus (.ci/deps installs both).
"""

import collections
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402
from pptest import external as x  # noqa: E402

N_PROXIES = 3
N_CLIENTS = 50
POLL_TIMEOUT_S = 5
JOB = "fleet"
RECOVER_S = 15.0
METRIC = "pushprox_test_fqdn_info"

runner = t.Runner()
_env = {}

PROM_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: {job}
    proxy_url: http://127.0.0.1:{lb_port}/
    http_sd_configs:
{sd}
    relabel_configs:
      - source_labels: [__address__]
        regex: '(.*)'
        target_label: __address__
        replacement: '${{1}}:{target_port}'
"""


def fqdns():
    return ["c%02d.test" % (i + 1) for i in range(N_CLIENTS)]


def body_for(handler):
    host = (handler.headers.get("Host") or "").rsplit(":", 1)[0]
    return ('# TYPE %s gauge\n%s{fqdn="%s"} 1\n' % (METRIC, METRIC, host)
            ).encode()


def expected_body(fqdn):
    return ('%s{fqdn="%s"} 1' % (METRIC, fqdn)).encode()


def shards():
    """{proxy index: set of FQDNs in its /clients} for the live proxies."""
    out = {}
    for i, p in enumerate(_env["proxies"]):
        if p.alive():
            out[i] = set(t.client_fqdns(p.port, timeout=2.0))
    return out


def direct(fqdn, timeout=3.0):
    """One scrape of fqdn through HAProxy: (status or error, body ok?,
    wrong body?)."""
    hp = "%s:%d" % (fqdn, _env["target"].port)
    try:
        resp, _ = t.scrape(_env["lb"].port, hp, timeout_s=2,
                           io_timeout=timeout)
    except (OSError, ValueError) as e:
        return ("error: %s" % e.__class__.__name__, False, False)
    if resp.status != 200:
        return (resp.status, False, False)
    ok = expected_body(fqdn) in resp.body
    wrong = (not ok) and METRIC.encode() in resp.body
    return (200, ok, wrong or not ok)


def setup():
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "prometheus" in _env:
        return
    try:
        x.require_external(x.HAPROXY, x.PROMETHEUS)
        tmp = tempfile.mkdtemp(prefix="pushprox-haproxy-")
        _env["tmp"] = tmp
        target = t.TargetServer(backlog=512)
        target.default_route = t.Route(body=body_for)
        proxies = [t.start_proxy("--poll.timeout=%ds" % POLL_TIMEOUT_S,
                                 name="proxy%d" % (i + 1), log_level="info")
                   for i in range(N_PROXIES)]
        ports = [p.port for p in proxies]
        lb = x.start_haproxy(lambda port: x.haproxy_config(port, ports), tmp)
        _env.update(target=target, proxies=proxies, lb=lb)
        # HAProxy marks the proxies up after `rise` checks.
        t.wait_for(lambda: all(direct_ready(p) for p in proxies), 10,
                   "GET /-/ready answered 200 by every proxy")
        clients = {}
        for name in fqdns():
            clients[name] = t.start_client(
                "http://127.0.0.1:%d/" % lb.port, name,
                "--scrape.target-host=127.0.0.1", name="client-" + name)
        _env["clients"] = clients
        state = {}

        def all_registered():
            state["shards"] = s = shards()
            listed = [f for names in s.values() for f in names]
            return sorted(listed) == fqdns()
        try:
            t.wait_for(all_registered, 20, "all %d clients in the proxies' "
                       "/clients, each exactly once" % N_CLIENTS,
                       interval=0.2)
        except t.TestFailure as e:
            raise t.TestFailure("%s; /clients per proxy: %r" % (
                e, {k: sorted(v) for k, v in state["shards"].items()}))
        sd = "\n".join("      - url: http://127.0.0.1:%d/clients\n"
                       "        refresh_interval: 1s" % p for p in ports)
        _env["prometheus"] = x.start_prometheus(
            PROM_CONFIG.format(job=JOB, lb_port=lb.port, sd=sd,
                               target_port=target.port), tmp)
    except Exception as e:
        _env["error"] = str(e)
        raise


def direct_ready(proxy):
    return t.http_request(proxy.port, "GET", "/-/ready",
                          timeout=1).status == 200


def prom_state():
    """{FQDN: (health, lastScrape seconds, lastError)} of the job."""
    out = {}
    for tg in x.prom_targets(_env["prometheus"], JOB):
        fq = tg["labels"].get("instance", "").rsplit(":", 1)[0]
        out[fq] = (tg["health"], x.prom_time(tg.get("lastScrape")),
                   tg.get("lastError", ""))
    return out


class Checker:
    """Direct scrapes of every FQDN through HAProxy, round robin, from a
    few threads, until stopped (bounded by max_s): every result with its
    time, and every body that names another FQDN."""

    def __init__(self, threads=6, max_s=60.0):
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.results = []       # (time, fqdn, status, ok)
        self.wrong = []
        self.deadline = time.monotonic() + max_s
        names = fqdns()
        self.threads = [t.in_thread(self.run, names[i::threads])
                        for i in range(threads)]

    def run(self, names):
        for _ in range(100000):     # bounded by deadline too
            for fq in names:
                if self.stop_ev.is_set() or time.monotonic() > self.deadline:
                    return
                status, ok, wrong = direct(fq)
                with self.lock:
                    self.results.append((time.monotonic(), fq, status, ok))
                    if status == 200 and wrong:
                        self.wrong.append(fq)
                self.stop_ev.wait(0.02)     # about 6 x 40 scrapes/s

    def stop(self):
        self.stop_ev.set()
        for th, out in self.threads:
            t.join_thread(th, out, 10, "a direct-scrape thread")

    def failures(self, names, since=0.0):
        with self.lock:
            return [(tm, fq, st) for tm, fq, st, ok in self.results
                    if fq in names and tm >= since and not ok]

    def count(self, since=0.0):
        with self.lock:
            return len([r for r in self.results if r[0] >= since])


@runner.test
def each_client_on_exactly_one_proxy():
    setup()
    s = shards()
    counts = {("proxy%d" % (i + 1)): len(v) for i, v in s.items()}
    print("     clients per proxy: %s" % counts, flush=True)
    listed = sorted(f for v in s.values() for f in v)
    t.check_eq(listed, fqdns(), "union of the proxies' /clients")
    t.check(all(n > 0 for n in counts.values()),
            "a proxy got no client at all (hashing ignores the FQDN?): %r"
            % counts)


@runner.test
def direct_scrapes_reach_the_right_client():
    setup()
    bad = {}
    for fq in fqdns():
        status, ok, _ = direct(fq)
        if not ok:
            bad[fq] = status
    t.check(not bad, "scrapes through HAProxy that failed or came back "
            "with another body: %r" % bad)


@runner.test
def prometheus_sees_every_target_once_and_up():
    setup()
    state = {}

    def all_up():
        state["s"] = s = prom_state()
        return sorted(s) == fqdns() and all(
            h == "up" for h, _, _ in s.values())
    try:
        t.wait_for(all_up, 30, "all %d targets up in Prometheus" %
                   N_CLIENTS, interval=0.5)
    except t.TestFailure as e:
        down = {k: v for k, v in state.get("s", {}).items()
                if v[0] != "up"}
        raise t.TestFailure("%s; %d targets, not up: %r" % (
            e, len(state.get("s", {})), dict(list(down.items())[:10])))
    n = len(x.prom_targets(_env["prometheus"], JOB))
    t.check_eq(n, N_CLIENTS, "active targets of the job (each discovered "
               "once across the %d http_sd entries)" % N_PROXIES)


@runner.test
def kill_a_proxy_targets_back_within_15s():
    setup()
    s = shards()
    victim = max(s, key=lambda i: len(s[i]))
    moved = set(s[victim])
    stayed = set(fqdns()) - moved
    _env["victim"], _env["moved"] = victim, moved
    proxy = _env["proxies"][victim]
    checker = Checker()
    _env["checker"] = checker
    time.sleep(1.0)                     # a baseline of good scrapes
    t0 = time.monotonic()
    wall0 = time.time()
    proxy.kill()                        # SIGKILL, mid-poll
    _env["kill_t0"] = t0
    state = {}

    def prom_recovered():
        state["s"] = st = prom_state()
        return sorted(st) == fqdns() and all(
            h == "up" and last > wall0 for h, last, _ in st.values())
    try:
        t.wait_for(prom_recovered, RECOVER_S, "every target up again in "
                   "Prometheus, scraped after the kill", interval=0.25)
    except t.TestFailure as e:
        lag = {k: v for k, v in state.get("s", {}).items()
               if v[0] != "up" or v[1] <= wall0}
        raise t.TestFailure("%s; lagging: %r" % (e, dict(list(
            lag.items())[:10])))
    prom_s = time.monotonic() - t0
    # Direct scrapes: the last failure of a moved client, after the kill.
    t.wait_for(lambda: all(direct(fq)[1] for fq in sorted(moved)), 5,
               "a clean pass of direct scrapes of the moved clients")
    fails = checker.failures(moved, since=t0)
    last = max([tm for tm, _, _ in fails], default=t0) - t0
    _env["kill_figures"] = (len(moved), prom_s, last, len(fails))
    print("     killed proxy%d (%d clients): Prometheus had every target "
          "up again %.1fs after the kill; direct scrapes of the moved "
          "clients failed for %.1fs (%d failures: %s)" % (
              victim + 1, len(moved), prom_s, last, len(fails),
              dict(collections.Counter(str(st) for _, _, st in fails))),
          flush=True)
    t.check(last <= RECOVER_S, "moved clients failing %.1fs after the kill"
            % last)
    stayed_fails = checker.failures(stayed, since=t0 - 1.0)
    t.check(not stayed_fails, "clients of the surviving proxies must "
            "never fail (consistent hashing moves only the dead proxy's "
            "keys): %r" % stayed_fails[:10])
    t.check(not checker.wrong, "scrapes answered with another client's "
            "metrics: %r" % checker.wrong[:10])
    s = shards()
    t.check_eq(sorted(f for v in s.values() for f in v), fqdns(),
               "the survivors' /clients: every client exactly once")


@runner.test
def proxy_returns_and_takes_its_clients_back():
    setup()
    t.check("victim" in _env, "the kill test did not run")
    victim, moved = _env["victim"], _env["moved"]
    old = _env["proxies"][victim]
    checker = _env["checker"]
    t0 = time.monotonic()
    _env["proxies"][victim] = t.start_proxy(
        "--poll.timeout=%ds" % POLL_TIMEOUT_S, name=old.name + "-again",
        port=old.port, log_level="info")
    limit = POLL_TIMEOUT_S + 10.0

    def back():
        s = shards()
        return s.get(victim) == moved
    t.wait_for(back, limit, "proxy%d lists its %d clients again" % (
        victim + 1, len(moved)), interval=0.25)
    t.wait_for(lambda: all(direct(fq)[1] for fq in fqdns()), 5,
               "a clean pass of direct scrapes of every client")
    back_s = time.monotonic() - t0
    time.sleep(1.0)
    checker.stop()
    fails = checker.failures(moved, since=t0)
    last = max([tm for tm, _, _ in fails], default=t0) - t0
    print("     proxy%d back: its clients listed there again and all "
          "scrapes clean %.1fs after its restart; direct scrapes of its "
          "clients failed for %.1fs (%d failures); %d direct scrapes in "
          "all, none with another client's body" % (
              victim + 1, back_s, last, len(fails), checker.count()),
          flush=True)
    _env["return_figures"] = (back_s, last)
    t.check(last <= limit, "clients failing %.1fs after the restart" %
            last)
    t.check(not checker.wrong, "scrapes answered with another client's "
            "metrics: %r" % checker.wrong[:10])


@runner.test
def prometheus_never_stored_another_clients_metrics():
    setup()
    res = x.prom_query(_env["prometheus"],
                       "last_over_time(%s{job=\"%s\"}[10m])" % (METRIC, JOB))
    bad = [r["metric"] for r in res if r["metric"].get("fqdn") !=
           r["metric"].get("instance", "").rsplit(":", 1)[0]]
    t.check_eq(len(res), N_CLIENTS, "series of %s" % METRIC)
    t.check(not bad, "series whose body named another client: %r" % bad)


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    try:
        code = runner.run()
    finally:
        if "checker" in _env:
            _env["checker"].stop()
        if "tmp" in _env:
            shutil.rmtree(_env["tmp"], ignore_errors=True)
    sys.exit(code)
