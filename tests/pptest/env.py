"""Where the binaries and the sample files are, from the environment:
PUSHPROX_PROXY and PUSHPROX_CLIENT (binary paths, set by meson; default
build/), TEST_DATA_DIR (default tests/data).  Set them before the first
import: the other modules read these names once.
"""

import os

__all__ = [
    "HERE", "ROOT", "PROXY", "CLIENT", "DATA_DIR",
]


# tests/, as in the single-file harness (this package is tests/pptest).
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(HERE)

PROXY = os.environ.get("PUSHPROX_PROXY",
                       os.path.join(ROOT, "build", "proxy", "pushprox-proxy"))
CLIENT = os.environ.get("PUSHPROX_CLIENT",
                        os.path.join(ROOT, "build", "client",
                                     "pushprox-client"))
DATA_DIR = os.environ.get("TEST_DATA_DIR", os.path.join(HERE, "data"))
