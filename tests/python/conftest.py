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


# ---------------------------------------------------------------------- OpenTelemetry, real or absent

FAKE_OTEL = pathlib.Path(__file__).resolve().parent / "fake_otel"


def _take_otel_modules() -> dict:
    """Remove every opentelemetry module from sys.modules (the next import finds them again) and return them."""
    taken = {n: m for n, m in sys.modules.items() if n == "opentelemetry" or n.startswith("opentelemetry.")}
    for n in taken:
        del sys.modules[n]
    return taken


def _reset_datastack_tracing() -> None:
    """Unload the extension from the test shell and forget the tracing state."""
    from datastack import extension, redaction, tracing

    try:
        from IPython.core.interactiveshell import InteractiveShell

        if InteractiveShell.initialized():
            shell = InteractiveShell.instance()
            if "datastack" in shell.extension_manager.loaded:
                shell.extension_manager.unload_extension("datastack")
            elif extension._state.get("shell") is not None:
                extension.unload(shell)
    except ImportError:
        pass
    extension._state.clear()
    tracing._state = None
    redaction._registered.clear()


@pytest.fixture
def otel_absent(monkeypatch):
    """The OpenTelemetry packages cannot be imported, whether or not they are installed here (as in the image)."""
    _reset_datastack_tracing()
    taken = _take_otel_modules()
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import opentelemetry... -> ModuleNotFoundError
    yield
    _reset_datastack_tracing()
    monkeypatch.delitem(sys.modules, "opentelemetry")
    sys.modules.update(taken)


@pytest.fixture
def fake_otel(monkeypatch):
    """tests/python/fake_otel (a stand-in for the OpenTelemetry SDK) is what `import opentelemetry` finds."""
    _reset_datastack_tracing()
    taken = _take_otel_modules()
    monkeypatch.syspath_prepend(str(FAKE_OTEL))
    for variable in [v for v in os.environ if v.startswith("OTEL_")] + ["DATASTACK_TRACE_CELL_CODE"]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.invalid:4318")
    yield FAKE_OTEL
    _reset_datastack_tracing()
    for name in ("requests", "psycopg"):
        module = sys.modules.get(f"opentelemetry.instrumentation.{name}")
        for instrumentor in vars(module).values() if module else ():
            if isinstance(instrumentor, type) and hasattr(instrumentor, "uninstrument") and instrumentor._instance is not None:
                instrumentor._instance.uninstrument()  # puts requests.Session.send back
    _take_otel_modules()
    sys.modules.update(taken)
