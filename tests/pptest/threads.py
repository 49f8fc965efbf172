"""Background work for a test: a call in a thread whose result is collected
with a bounded join (Background, or in_thread and join_thread), so that a
test can scrape while it pokes at a daemon.
"""

import threading
import time

from .runner import TestFailure, check

__all__ = [
    "Background", "in_thread", "join_thread",
]


class Background:
    """fn(*args, **kw) in a thread; result(timeout) joins (bounded) and
    returns or raises what fn did."""

    def __init__(self, fn, *args, **kw):
        self.value = self.error = None

        def run():
            try:
                self.value = fn(*args, **kw)
            except BaseException as e:  # handed to result()
                self.error = e
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def done(self):
        return not self.thread.is_alive()

    def result(self, timeout):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TestFailure("no answer within %.0fs" % timeout)
        if self.error is not None:
            raise self.error
        return self.value


def in_thread(fn, *args, **kw):
    """Runs fn in a thread; returns (thread, result dict)."""
    out = {}

    def run():
        t0 = time.monotonic()
        try:
            out["value"] = fn(*args, **kw)
        except Exception as e:  # inspected by the test
            out["error"] = e
        out["took"] = time.monotonic() - t0
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, out


def join_thread(th, out, timeout, what):
    """Joins an in_thread thread (bounded); returns its value or
    raises what it raised, as a TestFailure."""
    th.join(timeout)
    check(not th.is_alive(), "%s still running after %.0fs" % (what,
                                                               timeout))
    if "error" in out:
        raise TestFailure("%s: %r" % (what, out["error"]))
    return out["value"]
