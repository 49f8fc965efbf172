#!/usr/bin/python3
"""A Prometheus HA pair over an active-active pair of proxies (issue 11),
real daemons on 127.0.0.1:

  prometheus-a --proxy_url, http_sd /clients--> proxy-a  <--poll--+
  prometheus-b --proxy_url, http_sd /clients--> proxy-b  <--poll--+-- one
                                                  pushprox-client with
                                                  --proxy-url twice

One client polls both proxies at once (--proxy-url repeated) and answers
scrapes from either; its target is a TargetServer reached through
--scrape.target-host=127.0.0.1.  Both Prometheus servers scrape it every
second.  Then proxy-a is killed with SIGKILL: Prometheus B must record no
failed scrape at all (its `up` stays 1 at every scrape, counted with
count_over_time/sum_over_time, and Prometheus's own
prometheus_target_scrapes_* error counters stay 0), direct scrapes
through proxy-b in a loop never fail, and Prometheus A's target goes
down.  Then proxy-a comes back on its port and lists the client again
within one poll cycle, and Prometheus A scrapes it again; a scrape
through each proxy reaches the same target.

Fails without several --proxy-url (the client polls one proxy only, so the
other Prometheus never sees the target).  Needs prometheus.
"""

import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402
from pptest import external as x  # noqa: E402

FQDN = "hapair.test"
JOB = "hapair"
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
      - url: http://127.0.0.1:{proxy_port}/clients
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [__address__]
        regex: '(.*)'
        target_label: __address__
        replacement: '${{1}}:{target_port}'
"""


def setup():
    if "error" in _env:
        raise t.TestFailure("setup failed earlier: %s" % _env["error"])
    if "prom_b" in _env:
        return
    try:
        x.require_external(x.PROMETHEUS)
        tmp = tempfile.mkdtemp(prefix="pushprox-hapair-")
        _env["tmp"] = tmp
        target = t.TargetServer()
        target.route("/metrics", t.Route(
            body=b"# TYPE hapair_test gauge\nhapair_test 1\n"))
        pa = t.start_proxy(name="proxy-a", log_level="info")
        pb = t.start_proxy(name="proxy-b", log_level="info")
        client = t.start_client(
            "http://127.0.0.1:%d/" % pa.port, FQDN,
            "--proxy-url=http://127.0.0.1:%d/" % pb.port,
            "--scrape.target-host=127.0.0.1", name="client")
        _env.update(target=target, pa=pa, pb=pb, client=client)
        for p in (pa, pb):
            t.wait_registered(p.port, FQDN, timeout=10)
        for name, p in (("prom_a", pa), ("prom_b", pb)):
            _env[name] = x.start_prometheus(
                PROM_CONFIG.format(job=JOB, proxy_port=p.port,
                                   target_port=target.port),
                tmp, name=name.replace("_", "-"))
    except Exception as e:
        _env["error"] = str(e)
        raise


def target_health(prom):
    got = x.prom_targets(prom, JOB)
    return [(tg["health"], x.prom_time(tg.get("lastScrape")),
             tg.get("lastError", "")) for tg in got]


def scrapes_total(prom):
    """(scrapes, failed scrapes) of the job over the last 5 minutes, as
    Prometheus recorded them: every scrape writes one `up` sample, 1 or
    0, so count_over_time counts them and count - sum the failed ones."""
    res = x.prom_query(prom, 'count_over_time(up{job="%s"}[5m])' % JOB)
    total = float(res[0]["value"][1]) if res else 0.0
    res = x.prom_query(prom, 'count_over_time(up{job="%s"}[5m]) - '
                       'sum_over_time(up{job="%s"}[5m])' % (JOB, JOB))
    failed = float(res[0]["value"][1]) if res else 0.0
    return total, failed


@runner.test
def both_proxies_list_the_client():
    setup()
    for p in (_env["pa"], _env["pb"]):
        t.check(FQDN in t.client_fqdns(p.port),
                "%s does not list %s" % (p.name, FQDN))


@runner.test
def a_scrape_through_each_proxy_reaches_the_same_target():
    setup()
    hp = "%s:%d" % (FQDN, _env["target"].port)
    before = len(_env["target"].requests_for("/metrics"))
    for p in (_env["pa"], _env["pb"]):
        resp, _ = t.scrape(p.port, hp, timeout_s=5)
        t.check_eq(resp.status, 200, "scrape through %s" % p.name)
        t.check(b"hapair_test 1" in resp.body, "body through %s: %r" % (
            p.name, resp.body[:200]))
    t.check(len(_env["target"].requests_for("/metrics")) >= before + 2,
            "the target did not see both scrapes")


@runner.test
def both_prometheus_scrape_it():
    setup()
    for name in ("prom_a", "prom_b"):
        prom = _env[name]
        t.wait_for(lambda: [h for h in target_health(prom) if h[0] == "up"],
                   30, "%s's target up" % name, interval=0.5)
    # a few scrapes in a row, none failed
    t.wait_for(lambda: scrapes_total(_env["prom_b"])[0] >= 3, 15,
               "three scrapes by prometheus-b", interval=0.5)
    for name in ("prom_a", "prom_b"):
        total, failed = scrapes_total(_env[name])
        t.check(failed == 0, "%s: %d of %d scrapes failed before any "
                "fault" % (name, failed, total))


@runner.test
def kill_one_proxy_the_other_prometheus_misses_nothing():
    setup()
    prom_b, pb = _env["prom_b"], _env["pb"]
    hp = "%s:%d" % (FQDN, _env["target"].port)
    stop = threading.Event()
    direct = {"ok": 0, "failed": []}

    def loop():
        for _ in range(10000):
            if stop.is_set():
                return
            try:
                resp, _ = t.scrape(pb.port, hp, timeout_s=2, io_timeout=3)
                status = resp.status
            except (OSError, ValueError) as e:
                status = repr(e)
            if status == 200:
                direct["ok"] += 1
            else:
                direct["failed"].append(status)
            stop.wait(0.05)
    th, out = t.in_thread(loop)
    total0, failed0 = scrapes_total(prom_b)
    wall0 = time.time()
    _env["pa"].kill()                   # SIGKILL: its polls die with it
    # Prometheus A: its target goes down (its only proxy is gone).
    t.wait_for(lambda: [h for h in target_health(_env["prom_a"])
                        if h[0] == "down" and h[1] > wall0], 10,
               "prometheus-a's target down after proxy-a died",
               interval=0.5)
    time.sleep(6.0)                     # six scrape intervals of B
    stop.set()
    t.join_thread(th, out, 10, "the direct scrape loop")
    total1, failed1 = scrapes_total(prom_b)
    health = target_health(prom_b)
    print("     prometheus-b: %d scrapes during the fault, %d failed; "
          "direct scrapes through proxy-b: %d ok, %d failed" % (
              total1 - total0, failed1 - failed0, direct["ok"],
              len(direct["failed"])), flush=True)
    t.check(total1 - total0 >= 4, "prometheus-b scraped only %d times in "
            "about 7 s" % (total1 - total0))
    t.check_eq(failed1, 0.0, "failed scrapes recorded by prometheus-b")
    t.check(health and health[0][0] == "up" and health[0][1] > wall0,
            "prometheus-b's target: %r" % health)
    t.check(not direct["failed"], "direct scrapes through proxy-b "
            "failed: %r" % direct["failed"][:5])
    t.check(direct["ok"] > 20, "too few direct scrapes: %d" % direct["ok"])
    res = x.prom_query(prom_b, 'sum(prometheus_target_scrapes_exceeded_'
                       'sample_limit_total) + sum(prometheus_target_'
                       'scrapes_sample_duplicate_timestamp_total)')
    t.check(not res or float(res[0]["value"][1]) == 0,
            "prometheus-b's scrape error counters: %r" % res)


@runner.test
def restarted_proxy_lists_the_client_within_a_poll_cycle():
    setup()
    old = _env["pa"]
    t0 = time.monotonic()
    pa = t.start_proxy(name="proxy-a-again", port=old.port, log_level="info")
    _env["pa"] = pa
    # The client's back-off toward the dead proxy is at most 500 ms
    # (--proxy.retry.max-wait of start_client): one poll cycle.
    t.wait_registered(pa.port, FQDN, timeout=3.0)
    took = time.monotonic() - t0
    print("     proxy-a lists %s again %.2fs after its restart" % (
        FQDN, took), flush=True)
    wall = time.time()
    t.wait_for(lambda: [h for h in target_health(_env["prom_a"])
                        if h[0] == "up" and h[1] > wall], 15,
               "prometheus-a's target up again", interval=0.5)
    total, failed = scrapes_total(_env["prom_b"])
    t.check_eq(failed, 0.0, "failed scrapes recorded by prometheus-b "
               "over the whole run (%d scrapes)" % total)


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    try:
        code = runner.run()
    finally:
        if "tmp" in _env:
            shutil.rmtree(_env["tmp"], ignore_errors=True)
    sys.exit(code)
