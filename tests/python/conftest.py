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

import uuid  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    """PostgreSQL + Processing for the whole session, with the jupyter environment variables set."""
    from prereq import need

    need("pandas", "psycopg", "requests", "tqdm")
    from stack import LiveStack

    live = LiveStack(REPO)
    try:
        live.start()
        yield live
    finally:
        live.stop()


@pytest.fixture
def client(stack):
    """A client built from the environment only, as in the container."""
    import datastack as ds

    c = ds.connect(progress=False)
    yield c
    c.close()


@pytest.fixture
def name():
    """A dataset name no other test uses."""
    return f"t_{uuid.uuid4().hex[:12]}"
