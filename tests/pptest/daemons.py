"""The daemons under test as subprocesses: free loopback ports, start_daemon
(log captured to a file, readiness awaited with a bounded loop, a retry on
new ports when a port was taken meanwhile), start_proxy and start_client,
stopping every daemon by its pid at exit (SIGTERM, bounded wait, SIGKILL;
also when meson's timeout sends us SIGTERM), the end-of-run hygiene check
(exit 0 on SIGTERM, no sanitizer report), logs (LOGDIR, tail, wait_log)
and run_cmd.  Importing this module registers the atexit and SIGTERM
handlers.

PUSHPROX_TEST_LOGDIR (optional): keep daemon logs there; otherwise a
temporary directory, kept only on failure.
"""

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

from .env import CLIENT, PROXY
from .rawhttp import client_fqdns, http_request
from .runner import TestFailure, wait_for

__all__ = [
    "SANITIZER_RE", "STOP_TIMEOUT", "LOGDIR", "tail", "free_port", "Daemon",
    "DAEMONS", "stop_all", "start_daemon", "start_proxy", "start_client",
    "daemon_hygiene_problems", "run_cmd", "wait_log",
]


# Markers of a sanitizer report in a daemon's log.
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer|"
    r"MemorySanitizer)|runtime error:|SUMMARY: \w+Sanitizer")

STOP_TIMEOUT = 5.0         # SIGTERM grace before SIGKILL


# ---------------------------------------------------------------- logs ---

class _LogDir:
    def __init__(self):
        self.path = None
        self.keep = False

    def get(self):
        if self.path is None:
            base = os.environ.get("PUSHPROX_TEST_LOGDIR")
            script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
            if base:
                self.keep = True
                os.makedirs(base, exist_ok=True)
                self.path = tempfile.mkdtemp(prefix=script + "-", dir=base)
            else:
                self.path = tempfile.mkdtemp(prefix="pushprox-" + script + "-")
        return self.path


LOGDIR = _LogDir()


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------- ports ---

def free_port():
    """A loopback port that was free a moment ago (bind :0, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ------------------------------------------------------------- daemons ---

class Daemon:
    """One subprocess, its log file and its ports."""

    def __init__(self, name, argv, logpath, ports, check_exit=True):
        self.name = name
        self.check_exit = check_exit  # ours: must exit 0 on SIGTERM
        self.argv = argv
        self.logpath = logpath
        self.ports = ports
        self.log = open(logpath, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     close_fds=True)
        self.pid = self.proc.pid
        self.exit_code = None
        self.stopped_by_us = False
        self.killed_by_us = None    # signal a test sent on purpose

    @property
    def port(self):
        return self.ports[0]

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns exit code."""
        if self.proc.poll() is None:
            self.stopped_by_us = True
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
                self.exit_code = "killed (no exit within %.0fs of SIGTERM)" % (
                    timeout)
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        if not self.log.closed:
            self.log.close()
        return self.exit_code

    def log_text(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines=30):
        return tail(self.logpath, lines)

    def kill(self, sig=signal.SIGKILL, wait=True, timeout=STOP_TIMEOUT):
        """Sends sig on purpose (a fault injected by a test).  After
        SIGKILL (or any signal that ends the process) the exit status is
        not held against the daemon at the end of the script."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        if sig not in (signal.SIGSTOP, signal.SIGCONT):
            self.killed_by_us = sig
        os.kill(self.pid, sig)
        if wait and sig not in (signal.SIGSTOP, signal.SIGCONT):
            self.proc.wait(timeout=timeout)
            return self.proc.returncode
        return None


DAEMONS = []


def stop_all():
    for d in reversed(DAEMONS):
        try:
            d.stop()
        except Exception:  # keep stopping the others
            traceback.print_exc()


atexit.register(stop_all)


def _terminated(signum, frame):
    # meson's timeout sends SIGTERM: exit through atexit, stopping daemons.
    print("test script terminated by signal %d" % signum, flush=True)
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _terminated)


def start_daemon(name, argv_for_ports, ready, nports=1, timeout=15.0,
                 attempts=3, check_exit=True, ports=None):
    """Starts a daemon on fresh loopback ports and waits until ready.

    argv_for_ports(ports) gives the argv; ready(daemon) returns True once
    it serves.  If the process dies during start-up because a port was
    taken in the meantime (EADDRINUSE), it is started again on new ports.
    With ports given (e.g. to restart a daemon where it was), exactly those
    are used, once.
    """
    last = None
    fixed = ports
    for attempt in range(1 if fixed else attempts):
        ports = list(fixed) if fixed else [free_port() for _ in range(nports)]
        logpath = os.path.join(LOGDIR.get(),
                               "%02d-%s.log" % (len(DAEMONS), name))
        d = Daemon(name, argv_for_ports(ports), logpath, ports, check_exit)
        DAEMONS.append(d)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not d.alive():
                break
            try:
                if ready(d):
                    return d
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        if d.alive():
            d.stop()
            raise TestFailure("%s not ready within %.0fs; log tail:\n%s" % (
                name, timeout, d.tail()))
        d.stop()
        last = d
        text = d.log_text().lower()
        if "in use" not in text and "eaddrinuse" not in text:
            break
    raise TestFailure("%s exited during start-up (code %s): %s\nlog tail:\n%s"
                      % (name, last.exit_code, " ".join(last.argv),
                         last.tail()))


def start_proxy(*extra, name="proxy", timeout=15.0, port=None,
                log_level="debug"):
    """Starts pushprox-proxy on a fresh loopback port (or on port)."""
    def argv(ports):
        return [PROXY, "--web.listen-address=127.0.0.1:%d" % ports[0],
                "--log.level=" + log_level] + list(extra)

    def ready(d):
        return http_request(d.port, "GET", "/metrics", timeout=1.0).status \
            == 200

    return start_daemon(name, argv, ready, timeout=timeout,
                        ports=[port] if port else None)


def start_client(proxy_url, fqdn, *extra, name="client", registered_at=None,
                 ready=None, timeout=15.0):
    """Starts pushprox-client; by default waits until the proxy on port
    registered_at lists fqdn in /clients (or only until the process runs,
    if registered_at is None and no ready function is given)."""
    def argv(ports):
        return [CLIENT, "--proxy-url=" + proxy_url, "--fqdn=" + fqdn,
                "--metrics-addr=127.0.0.1:%d" % ports[0],
                "--proxy.retry.initial-wait=100ms",
                "--proxy.retry.max-wait=500ms",
                "--log.level=debug"] + list(extra)

    if ready is None:
        if registered_at is not None:
            def ready(d):
                return fqdn in client_fqdns(registered_at, timeout=1.0)
        else:
            def ready(d):
                return http_request(d.port, "GET", "/metrics",
                                    timeout=1.0).status == 200
    return start_daemon(name, argv, ready, timeout=timeout)


def daemon_hygiene_problems():
    """Sanitizer reports in any log, and daemons that did not exit 0 on
    our SIGTERM (or died by themselves)."""
    problems = []
    for d in DAEMONS:
        code = d.stop()
        if not d.check_exit:    # not ours (Prometheus, node exporter)
            continue
        text = d.log_text()
        m = SANITIZER_RE.search(text)
        if m:
            start = max(0, m.start() - 200)
            problems.append("%s (pid %d): sanitizer report in %s:\n%s" % (
                d.name, d.pid, d.logpath, text[start:start + 3000]))
        if d.killed_by_us is not None:
            pass    # a test killed it on purpose: any exit status goes
        elif d.stopped_by_us and code != 0:
            problems.append("%s (pid %d) exited with %s on SIGTERM; log "
                            "tail:\n%s" % (d.name, d.pid, code, d.tail(15)))
        elif not d.stopped_by_us and isinstance(code, int) and code < 0:
            problems.append("%s (pid %d) died of signal %d; log tail:\n%s"
                            % (d.name, d.pid, -code, d.tail(15)))
    return problems


def run_cmd(argv, timeout=10.0):
    """Runs a short command; returns (exit code, stdout, stderr)."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def wait_log(daemon, pattern, timeout=5.0, start=0):
    """Waits until daemon's log (from byte offset start) matches the
    regular expression pattern; returns the match."""
    rx = re.compile(pattern)

    def found():
        return rx.search(daemon.log_text()[start:])
    return wait_for(found, timeout, "log of %s to match %r" % (
        daemon.name, pattern))
