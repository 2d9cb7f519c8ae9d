"""Shared setup for the Python tests: the package on sys.path, and the live stack fixture."""

from __future__ import annotations

import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
PACKAGE_SRC = REPO / "Jupyter" / "datastack" / "src"

# The tests use the package from the source tree (not an installed copy); kernels started by
# nbclient inherit PYTHONPATH and import the same code.
sys.path.insert(0, str(PACKAGE_SRC))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_SRC), os.environ.get("PYTHONPATH", "")) if p)
