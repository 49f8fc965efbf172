"""The test runner and the assertions: Runner (register tests with
@runner.test, run them, print one line per test and, last, exactly
"N passed, M failed"; the daemons' clean exit is one more test), check,
check_eq, TestFailure, wait_for (every wait bounded in time) and
require_binaries.
"""

import os
import shutil
import sys
import time
import traceback

__all__ = [
    "TestFailure", "check", "check_eq", "wait_for", "Runner",
    "require_binaries",
]


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    """Fails the current test with msg unless cond."""
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def wait_for(cond, timeout, what, interval=0.05):
    """Polls cond() until true, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    last_err = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except (OSError, ValueError) as e:
            last_err = e
        time.sleep(interval)
    raise TestFailure("timed out after %.1fs waiting for %s%s" % (
        timeout, what, " (last error: %s)" % last_err if last_err else ""))


class Runner:
    def __init__(self):
        self.tests = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def run(self):
        # daemons imports this module: import it here, not at the top.
        from .daemons import DAEMONS, LOGDIR, daemon_hygiene_problems

        passed = failed = 0
        t_all = time.monotonic()
        only = set(a for a in sys.argv[1:] if not a.startswith("-"))
        for fn in self.tests:
            if only and fn.__name__ not in only:
                continue
            t0 = time.monotonic()
            try:
                fn()
            except Exception as e:  # a failed test, whatever the cause
                failed += 1
                detail = str(e) if isinstance(e, TestFailure) else \
                    traceback.format_exc()
                print("FAIL %s (%.2fs): %s" % (fn.__name__,
                                               time.monotonic() - t0,
                                               detail.rstrip()), flush=True)
            else:
                passed += 1
                print("ok   %s (%.2fs)" % (fn.__name__,
                                           time.monotonic() - t0),
                      flush=True)
        # Every daemon must stop cleanly on SIGTERM, with no sanitizer
        # report in its log: that is one more test.
        t0 = time.monotonic()
        problems = daemon_hygiene_problems()
        if problems:
            failed += 1
            print("FAIL daemons_exit_cleanly (%.2fs):\n%s" % (
                time.monotonic() - t0, "\n".join(problems)), flush=True)
        else:
            passed += 1
            print("ok   daemons_exit_cleanly (%.2fs)" % (
                time.monotonic() - t0), flush=True)
        if failed:
            print("daemon logs of the failed run (tails):")
            for d in DAEMONS:
                print("--- %s (pid %d, %s) exit %s" % (d.name, d.pid,
                                                      d.logpath, d.exit_code))
                print(d.tail(20))
            print("logs kept in %s" % LOGDIR.get())
        elif LOGDIR.path and not LOGDIR.keep:
            shutil.rmtree(LOGDIR.path, ignore_errors=True)
        print("took %.1fs" % (time.monotonic() - t_all))
        print("%d passed, %d failed" % (passed, failed), flush=True)
        return 1 if failed else 0


def require_binaries(*paths):
    for p in paths:
        if not os.access(p, os.X_OK):
            print("missing binary %s" % p)
            print("0 passed, 1 failed")
            sys.exit(1)
