"""pptest: the stdlib-only harness of the pushprox integration tests.

One concept per module (see README.md):
  env       where the binaries and sample files are (PUSHPROX_PROXY, ...)
  runner    Runner, check, check_eq, TestFailure, wait_for
  threads   Background, in_thread, join_thread
  rawhttp   raw-socket HTTP client, parsers, Prometheus-shaped scrapes
  daemons   ports, Daemon, start_proxy/start_client, stop_all, hygiene, logs
  metrics   /metrics parsing, metric_value, wait_metric, /proc figures
  fakes     TargetServer and Route, FakeProxy, Middlebox, big bodies
  protocol  playing the client by hand: RawPoll, push_message, post_push
  pki       throw-away PKI, bcrypt, Basic auth, HTTPS client, TLS proxy

Everything public is re-exported here: `import pptest as t` then
t.start_proxy(...), or import from the module itself.  The older
tests/pushprox_test.py re-exports the same objects (and the private
names some tests use), so both spellings keep working.

Every wait here is bounded in count and in time.
"""

from .env import *        # noqa: F401,F403
from .runner import *     # noqa: F401,F403
from .threads import *    # noqa: F401,F403
from .rawhttp import *    # noqa: F401,F403
from .daemons import *    # noqa: F401,F403
from .metrics import *    # noqa: F401,F403
from .fakes import *      # noqa: F401,F403
from .protocol import *   # noqa: F401,F403
from .pki import *        # noqa: F401,F403

from . import (daemons, env, fakes, metrics, pki, protocol,  # noqa: F401
               rawhttp, runner, threads)

__all__ = (env.__all__ + runner.__all__ + threads.__all__ +
           rawhttp.__all__ + daemons.__all__ + metrics.__all__ +
           fakes.__all__ + protocol.__all__ + pki.__all__)
