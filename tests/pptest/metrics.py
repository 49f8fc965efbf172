"""What a daemon exposes and what the kernel says about it: /metrics parsed
(parse_metrics, metrics_of, metric_value, wait_metric) and /proc figures
(proc_status for VmRSS/VmHWM, fd_count, cpu_seconds, is_sanitized).
"""

import os
import re

from .rawhttp import IO_TIMEOUT, http_request
from .runner import check, wait_for

__all__ = [
    "parse_metrics", "metrics_of", "metric_value", "wait_metric",
    "proc_status", "is_sanitized", "fd_count", "cpu_seconds",
]


_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition -> list of (name, {labels}, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            continue
        labels = dict(_LABEL_RE.findall(m.group(2) or ""))
        try:
            out.append((m.group(1), labels, float(m.group(3))))
        except ValueError:
            pass
    return out


def metrics_of(port, timeout=IO_TIMEOUT):
    """GET /metrics on port, parsed (see parse_metrics)."""
    resp = http_request(port, "GET", "/metrics", timeout=timeout)
    check(resp.status == 200, "GET /metrics on port %d: %r" % (port, resp))
    return parse_metrics(resp.text())


def metric_value(port_or_samples, name, **labels):
    """Sum of the samples of name whose labels include labels (0 if
    none).  Takes a port or the result of metrics_of."""
    samples = port_or_samples
    if isinstance(port_or_samples, int):
        samples = metrics_of(port_or_samples)
    total = 0.0
    for n, lab, v in samples:
        if n == name and all(lab.get(k) == str(w) for k, w in labels.items()):
            total += v
    return total


def wait_metric(port, name, want, timeout, labels=None, op="ge"):
    """Waits until metric name{labels} on port >= want (or == with
    op='eq'), at most timeout seconds."""
    labels = labels or {}

    def ok():
        v = metric_value(port, name, **labels)
        return v >= want if op == "ge" else v == want
    return wait_for(ok, timeout, "%s%s %s %s" % (name, labels or "",
                                                ">=" if op == "ge" else "==",
                                                want))


def proc_status(pid):
    """/proc/PID/status as a dict; memory fields (VmRSS, VmHWM, ...) in
    bytes as ints, the rest as strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            if v.endswith(" kB") and v[:-3].strip().isdigit():
                out[k] = int(v[:-3]) * 1024
            else:
                out[k] = v
    return out


def is_sanitized(pid):
    """Whether the process runs with AddressSanitizer (its allocator keeps
    freed memory in quarantine, so RSS figures mean little)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def fd_count(pid):
    """Open file descriptors of a process."""
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_seconds(pid):
    """User plus system CPU time a process used so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
