"""Compatibility module: the integration test harness now lives in the
package tests/pptest/ (one concept per module; read tests/pptest/README.md
for what each gives and how to write a new test).

This module re-exports every name it used to define, public and private
(_Reader, _parse_headers, ...), as the very same objects, plus the
helpers added to the package since (Middlebox, RawPoll, post_push,
stream_scrape, mass_scrape, Background, wait_metric, ...).  So both

    import pushprox_test as t
    from pushprox_test import *

keep working unchanged; new code may as well `import pptest as t`.
Add new helpers to the right module of tests/pptest/, not here.
"""

# The standard modules the single-file harness imported: kept so that
# `from pushprox_test import *` still brings them into a test's namespace.
import atexit  # noqa: F401
import base64  # noqa: F401
import gzip  # noqa: F401
import http.server  # noqa: F401
import json  # noqa: F401
import os  # noqa: F401
import re  # noqa: F401
import shutil  # noqa: F401
import signal  # noqa: F401
import socket  # noqa: F401
import ssl  # noqa: F401
import subprocess  # noqa: F401
import sys  # noqa: F401
import tempfile  # noqa: F401
import threading  # noqa: F401
import time  # noqa: F401
import traceback  # noqa: F401
import urllib.parse  # noqa: F401

from pptest import *  # noqa: F401,F403
from pptest.daemons import _LogDir, _terminated  # noqa: F401
from pptest.fakes import _QuietServer, _TargetHandler  # noqa: F401
from pptest.metrics import _LABEL_RE, _SAMPLE_RE  # noqa: F401
from pptest.pki import _OPENSSL_CNF  # noqa: F401
from pptest.rawhttp import (_BytesReader, _Reader,  # noqa: F401
                            _parse_headers, _read_body)
