"""Shared setup for the Python tests: the package on sys.path, and the live stack fixture."""

from __future__ import annotations

import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
PACKAGE_SRC = REPO / "Jupyter" / "datastack" / "src"

# The OpenTelemetry SDK for the tests: the wheels of ../shared/wheelhouse and the Debian packages they need,
# installed into a folder of their own by tests/python/install-opentelemetry.sh (README, Prerequisites).
OTEL_SDK = pathlib.Path(os.environ.get("DATASTACK_OTEL_SDK", "/opt/datastack/opentelemetry"))

# The tests use the package from the source tree (not an installed copy); kernels started by
# nbclient inherit PYTHONPATH and import the same code, and the same SDK.
front = [str(PACKAGE_SRC)] + ([str(OTEL_SDK)] if OTEL_SDK.is_dir() else [])
sys.path[:0] = [p for p in front if p not in sys.path]
os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in (*front, *os.environ.get("PYTHONPATH", "").split(os.pathsep)) if p))

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


def _reset_datastack_tracing() -> None:
    """Unload the extension from the test shell, stop datastack's tracer provider and forget the tracing state."""
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
    state = tracing.state()
    if state is not None and state.owns_provider and state.provider is not None:
        state.provider.shutdown()  # its export thread stops
    extension._state.clear()
    tracing._state = None
    redaction._registered.clear()


def _reset_opentelemetry_globals() -> None:
    """The API lets a process set its tracer provider once; each test starts with none set again.

    What opentelemetry-test-utils' ``reset_trace_globals()`` does (that package is not installed here).
    """
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace._PROXY_TRACER_PROVIDER = trace.ProxyTracerProvider()
    for name in ("requests", "psycopg"):
        module = sys.modules.get(f"opentelemetry.instrumentation.{name}")
        for instrumentor in vars(module).values() if module else ():
            if isinstance(instrumentor, type) and hasattr(instrumentor, "uninstrument") and instrumentor._instance is not None:
                if instrumentor._instance.is_instrumented_by_opentelemetry:
                    instrumentor._instance.uninstrument()  # puts requests.Session.send back


@pytest.fixture
def otel_absent(monkeypatch):
    """The OpenTelemetry packages cannot be imported, whether or not they are installed here (as in an image without them)."""
    from prereq import hide

    _reset_datastack_tracing()
    hide(monkeypatch, "opentelemetry")  # import opentelemetry... -> ModuleNotFoundError
    yield
    _reset_datastack_tracing()


@pytest.fixture
def otel(monkeypatch):
    """The real OpenTelemetry SDK, exporting over OTLP/HTTP to a receiver of this test (``otlp.OtlpHttpReceiver``)."""
    from prereq import need_opentelemetry

    need_opentelemetry()
    from otlp import OtlpHttpReceiver

    _reset_datastack_tracing()
    _reset_opentelemetry_globals()
    for variable in [v for v in os.environ if v.startswith("OTEL_")]:
        monkeypatch.delenv(variable)
    # Set (not deleted), so that monkeypatch also undoes what a test's `%env DATASTACK_TRACE_CELL_CODE=off` did.
    monkeypatch.setenv("DATASTACK_TRACE_CELL_CODE", "on")
    receiver = OtlpHttpReceiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    try:
        yield receiver
    finally:
        _reset_datastack_tracing()
        _reset_opentelemetry_globals()
        receiver.close()
