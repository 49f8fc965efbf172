#!/usr/bin/python3
"""The client's status page (issue 12): GET / and HEAD / on the client's
--metrics-addr.  A client with two proxies (one up, one down and written
with credentials) and a targets file whose labels are hostile
(<script>alert(1)</script>, quotes, </td>): after one named scrape the
page lists both proxies with their state (up, down with its last poll
error, no password), the target, its labels and the scrape; every hostile
text comes out escaped (no <script>, <img> or injected element, in the
raw HTML and in headless Chromium's DOM).  Failed scrapes are listed with
their outcome and message; without a targets file the page says the
client scrapes its own FQDN; the list of last scrapes is capped (32).
The page carries a strict Content-Security-Policy and no script; HEAD
works, other methods are refused with 405, /metrics is unchanged.

Run: PUSHPROX_PROXY=... PUSHPROX_CLIENT=... python3
tests/test_client_status.py [test names...]
"""
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pptest as t  # noqa: E402

runner = t.Runner()

CHROMIUM = shutil.which("chromium")
FQDN = "localhost"
RING = 32                        # LIMIT_CLIENT_STATUS_SCRAPES
BODY = b"# TYPE up gauge\nup 1\nnode_load1 0.5\n"
SCRIPT = "<script>alert(1)</script>"
QUOTES = "\"'><img src=x id=injected onerror=alert(1)>"
CELL = "</td></tr></tbody></table><h1 id=injected2>x</h1>"


class Page(html.parser.HTMLParser):
    """The elements of a page (tag names, ids) and the text of each table
    (by id): rows of cell texts, entities decoded."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.ids = []
        self.tables = {}
        self._table = None
        self._row = None
        self._cell = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._row.append(self._cell)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[-1] = "".join(self._cell)
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table):
        """The body rows of table (its header row left out)."""
        return [r for r in self.tables.get(table, [])[1:]]


def yaml_str(s):
    """s as a double-quoted YAML scalar."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def targets_file(tmp, targets, labels=None):
    """Writes a targets file: labels, and targets as (name, url, labels)."""
    path = os.path.join(tmp, "targets.yml")
    lines = []
    if labels:
        lines.append("labels:")
        lines += ["  %s: %s" % (k, yaml_str(v)) for k, v in labels.items()]
    lines.append("targets:")
    for name, url, lbl in targets:
        lines += ["  - name: %s" % name, "    url: %s" % url]
        if lbl:
            lines.append("    labels:")
            lines += ["      %s: %s" % (k, yaml_str(v))
                      for k, v in lbl.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def get_page(client):
    resp = t.http_request(client.port, "GET", "/")
    t.check_eq(resp.status, 200, "GET / on the client's metrics address")
    return resp, resp.body.decode("utf-8")


def named_scrape(proxy, name):
    resp, _ = t.scrape(proxy.port, "%s:0" % FQDN,
                       "/pushprox/targets/%s/metrics" % name)
    return resp


def wait_target_listed(proxy, name):
    def listed():
        r = t.http_request(proxy.port, "GET", "/targets", timeout=1.0)
        return ('"__meta_pushprox_target":"%s"' % name).encode() in r.body
    t.wait_for(listed, 10, "target %s in the proxy's /targets" % name)


def hostile_setup(tmp):
    """Proxy, target, a dead second proxy with credentials, and a client
    with a hostile targets file; one named scrape done."""
    target = t.TargetServer()
    target.route("/metrics", t.Route(BODY))
    proxy = t.start_proxy()
    dead = t.free_port()
    path = targets_file(
        tmp, [("node", "http://%s:%d/metrics" % (FQDN, target.port),
               {"team": QUOTES, "cell": CELL})],
        labels={"site": SCRIPT})
    client = t.start_client(
        "http://127.0.0.1:%d/" % proxy.port, FQDN,
        "--proxy-url=http://ops:s3cretpw@127.0.0.1:%d/" % dead,
        "--targets.file=" + path, registered_at=proxy.port)
    wait_target_listed(proxy, "node")
    resp = named_scrape(proxy, "node")
    t.check_eq(resp.status, 200, "the named scrape")
    t.check_eq(resp.body, BODY, "its body")
    return target, proxy, client, dead


@runner.test
def page_lists_proxies_targets_scrapes_escaped():
    tmp = tempfile.mkdtemp(prefix="pptest-cstatus-")
    target, proxy, client, dead = hostile_setup(tmp)

    def dead_shown_down():
        _, text = get_page(client)
        rows = Page(text).rows("proxies")
        # The scrape is recorded when its push has ended, which may be a
        # moment after the scraper got its answer (slow under ASan).
        scrapes = Page(text).rows("scrapes")
        return len(rows) == 2 and "down" in rows[1][1] and \
            "connect" in rows[1][8].lower() and \
            len(scrapes) == 1 and len(scrapes[0]) >= 2 and (rows, text)
    rows, text = t.wait_for(dead_shown_down, 10, "the dead proxy shown "
                            "down with its last poll error, and the scrape "
                            "recorded")
    resp, _ = get_page(client)
    page = Page(text)
    t.check_eq(rows[0][0], "http://127.0.0.1:%d/" % proxy.port,
               "first proxy's URL")
    t.check_eq(rows[0][1], "up", "first proxy up")
    t.check_eq(rows[0][7], "asked (stored 1)", "its advertisement state")
    t.check(int(rows[0][3]) >= 1 and int(rows[0][5]) == 1,
            "its polls and its one scrape: %r" % rows[0])
    t.check_eq(rows[1][0], "http://127.0.0.1:%d/" % dead,
               "second proxy's URL, credentials removed")
    t.check(int(rows[1][4]) >= 1, "its poll errors: %r" % rows[1])
    t.check("s3cretpw" not in text and "ops:" not in text,
            "no credentials on the page")
    t.check("<span id=\"fqdn\">%s</span>" % FQDN in text, "the FQDN shown")
    t.check("0.1.0" in text, "the client's version")

    trows = page.rows("targets")
    t.check_eq(len(trows), 1, "one target row")
    t.check_eq(trows[0][0], "node", "target name")
    t.check_eq(trows[0][1], "http://%s:%d/metrics" % (FQDN, target.port),
               "target URL")
    t.check('team="%s"' % QUOTES in trows[0][2] and
            'cell="%s"' % CELL in trows[0][2],
            "hostile target labels shown as text: %r" % trows[0][2])
    t.check('site="%s"' % SCRIPT in html_text(text),
            "hostile client label shown as text")

    srows = page.rows("scrapes")
    t.check_eq(len(srows), 1, "one scrape row")
    t.check(srows[0][1].startswith("node http://%s:%d/metrics" % (
        FQDN, target.port)), "scrape target: %r" % srows[0][1])
    t.check_eq(srows[0][2], "http://127.0.0.1:%d/" % proxy.port,
               "the proxy it came from")
    t.check_eq(srows[0][3], "200", "scrape status")
    t.check_eq(srows[0][4], str(len(BODY)), "scrape bytes")
    t.check_eq(srows[0][6], "ok", "scrape outcome")

    # Escaping: nothing hostile became markup.
    low = text.lower()
    t.check("<script" not in low, "no <script> in the raw HTML")
    t.check("<img" not in low and low.count("<h1") == 1,
            "no injected element in the raw HTML")
    t.check("&lt;script&gt;alert(1)&lt;/script&gt;" in text,
            "the script label escaped")
    t.check("&quot;&#39;&gt;&lt;img" in text, "quotes escaped")
    t.check("script" not in page.tags and "img" not in page.tags and
            "h1" in page.tags and page.tags.count("h1") == 1 and
            "injected" not in page.ids and "injected2" not in page.ids,
            "no element injected: %r" % sorted(set(page.tags)))
    t.check_eq(page.tags.count("table"), 3, "three tables, none injected")

    # Headers: a strict CSP, HTML, no caching.
    csp = resp.header("content-security-policy", "")
    t.check(csp.startswith("default-src 'none'") and "script-src" not in csp
            and "style-src 'sha256-" in csp and
            "frame-ancestors 'none'" in csp, "strict CSP: %r" % csp)
    t.check_eq(resp.header("content-type"), "text/html; charset=utf-8",
               "content type")
    t.check_eq(resp.header("x-content-type-options"), "nosniff",
               "nosniff")
    shutil.rmtree(tmp, ignore_errors=True)
    client.stop()
    proxy.stop()
    target.close()


def html_text(text):
    """The page's text, entities decoded (tags dropped)."""
    out = []

    class P(html.parser.HTMLParser):
        def handle_data(self, data):
            out.append(data)
    p = P(convert_charrefs=True)
    p.feed(text)
    p.close()
    return "".join(out)


@runner.test
def failed_scrapes_listed_with_outcome():
    tmp = tempfile.mkdtemp(prefix="pptest-cstatus-")
    target = t.TargetServer()
    target.route("/down", t.Route(b"maintenance\n", status=503,
                                  content_type="text/plain"))
    closed = t.free_port()
    proxy = t.start_proxy()
    path = targets_file(tmp, [
        ("maint", "http://%s:%d/down" % (FQDN, target.port), None),
        ("gone", "http://%s:%d/metrics" % (FQDN, closed), None)])
    client = t.start_client("http://127.0.0.1:%d/" % proxy.port, FQDN,
                            "--targets.file=" + path,
                            registered_at=proxy.port)
    wait_target_listed(proxy, "gone")
    t.check_eq(named_scrape(proxy, "maint").status, 503, "relayed 503")
    resp = named_scrape(proxy, "gone")
    t.check(resp.status >= 500, "a target that refuses: %d" % resp.status)
    _, text = get_page(client)
    srows = Page(text).rows("scrapes")
    t.check_eq(len(srows), 2, "two scrape rows")
    # Newest first.
    t.check(srows[0][1].startswith("gone ") and srows[1][1].startswith(
        "maint "), "newest first: %r" % [r[1] for r in srows])
    t.check_eq(srows[0][3], str(resp.status), "status pushed for the error")
    t.check(srows[0][6].startswith("failed: scrape of"), "the failure and "
            "its message: %r" % srows[0][6])
    t.check_eq(srows[1][3], "503", "the target's status")
    t.check_eq(srows[1][6], "target status", "relayed non-2xx outcome")
    cards = html_text(text)
    t.check("1scrape errors" in cards.replace("\n", ""),
            "one scrape error counted")
    shutil.rmtree(tmp, ignore_errors=True)
    client.stop()
    proxy.stop()
    target.close()


@runner.test
def no_targets_file_and_ring_capped():
    target = t.TargetServer()
    target.route("/metrics", t.Route(BODY))
    proxy = t.start_proxy()
    client = t.start_client("http://127.0.0.1:%d/" % proxy.port, FQDN,
                            registered_at=proxy.port)
    n = RING + 8
    for i in range(n):
        resp, _ = t.scrape(proxy.port, "%s:%d" % (FQDN, target.port),
                           "/metrics?i=%d" % i)
        t.check_eq(resp.status, 200, "scrape %d" % i)
    _, text = get_page(client)
    page = Page(text)
    t.check("no-targets" in page.ids and "No targets file: scrapes its own "
            "FQDN" in text, "the no-targets-file note")
    srows = page.rows("scrapes")
    t.check_eq(len(srows), RING, "the ring keeps the last %d" % RING)
    t.check("The last %d of %d since start" % (RING, n) in text,
            "the count since start")
    t.check(srows[0][1].endswith("/metrics?i=%d" % (n - 1)) and
            srows[-1][1].endswith("/metrics?i=%d" % (n - RING)),
            "newest first, oldest dropped: %r ... %r" % (srows[0][1],
                                                         srows[-1][1]))
    client.stop()
    proxy.stop()
    target.close()


@runner.test
def head_methods_and_metrics():
    proxy = t.start_proxy()
    client = t.start_client("http://127.0.0.1:%d/" % proxy.port, FQDN,
                            registered_at=proxy.port)
    get = t.http_request(client.port, "GET", "/")
    head = t.http_request(client.port, "HEAD", "/")
    t.check_eq(head.status, 200, "HEAD /")
    t.check_eq(head.body, b"", "HEAD has no body")
    t.check_eq(head.header("content-type"), "text/html; charset=utf-8",
               "HEAD's content type")
    t.check(int(head.header("content-length", "0")) > 1000,
            "HEAD's length: %r" % head.header("content-length"))
    t.check_eq(head.header("content-security-policy"),
               get.header("content-security-policy"), "HEAD's CSP")
    t.check_eq(t.http_request(client.port, "GET", "/?x=1").status, 200,
               "GET /?query")
    post = t.http_request(client.port, "POST", "/", body=b"x")
    t.check_eq(post.status, 405, "POST /")
    t.check_eq(post.header("allow"), "GET, HEAD", "Allow")
    t.check_eq(t.http_request(client.port, "GET", "/index.html").status, 404,
               "another path")
    m = t.http_request(client.port, "GET", "/metrics")
    t.check(m.status == 200 and b"pushprox_client_polls_total" in m.body,
            "/metrics unchanged")
    client.stop()
    proxy.stop()


def chromium_dom(url, timeout=60.0):
    profile = tempfile.mkdtemp(prefix="pptest-chromium-")
    try:
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--user-data-dir=" + profile,
             "--dump-dom", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, timeout=timeout)
        return out.stdout.decode("utf-8", "replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@runner.test
def page_in_chromium():
    if CHROMIUM is None:
        print("note: chromium not installed; browser checks skipped")
        return
    tmp = tempfile.mkdtemp(prefix="pptest-cstatus-")
    target, proxy, client, dead = hostile_setup(tmp)
    dom = chromium_dom("http://127.0.0.1:%d/" % client.port)
    page = Page(dom)
    t.check_eq(len(page.rows("proxies")), 2, "both proxies in the DOM")
    t.check_eq(page.rows("targets")[0][0], "node", "the target in the DOM")
    t.check_eq(len(page.rows("scrapes")), 1, "the scrape in the DOM")
    t.check("<title>pushprox-client %s</title>" % FQDN in dom,
            "title unchanged (no script ran)")
    t.check("script" not in page.tags and "img" not in page.tags and
            "injected" not in page.ids and "injected2" not in page.ids,
            "no element injected in the DOM")
    t.check(SCRIPT in html_text(dom), "the hostile label is text")
    shutil.rmtree(tmp, ignore_errors=True)
    client.stop()
    proxy.stop()
    target.close()


if __name__ == "__main__":
    t.require_binaries(t.PROXY, t.CLIENT)
    sys.exit(runner.run())
