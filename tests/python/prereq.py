"""Prerequisite checks: a missing dependency fails loudly with the Debian package to install, never skips
silently. The OpenTelemetry SDK is the one exception off CI: it comes from ../shared/wheelhouse, which a
developer's checkout may not have beside it, so its tests are skipped there with the reason (pytest -rs, and
test.sh says so in one line); on CI (CI=true) they fail."""

from __future__ import annotations

import importlib
import os
import sys

import pytest

# module -> Debian bookworm package (the tests run under /usr/bin/python3).
APT_PACKAGES = {
    "pandas": "python3-pandas",
    "numpy": "python3-numpy",
    "psycopg": "python3-psycopg",
    "requests": "python3-requests",
    "tqdm": "python3-tqdm",
    "IPython": "python3-ipython",
    "ipykernel": "python3-ipykernel",
    "nbclient": "python3-nbclient",
    "nbformat": "python3-nbformat",
    "matplotlib": "python3-matplotlib",
}


def need(*modules: str) -> None:
    """Import each module or fail the test run with 'apt-get install <package>'."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        packages = " ".join(APT_PACKAGES.get(m, f"python3-{m.lower()}") for m in missing)
        pytest.fail(
            f"missing Python modules {', '.join(missing)} for /usr/bin/python3: apt-get install -y {packages}",
            pytrace=False,
        )


# What datastack.tracing imports, and what the tests' OTLP receivers decode with.
OPENTELEMETRY_MODULES = (
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    "opentelemetry.instrumentation.requests",
    "opentelemetry.instrumentation.psycopg",
    "opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc",
)


def opentelemetry_missing() -> str | None:
    """Why the OpenTelemetry SDK cannot be imported here, or None when it can."""
    for name in OPENTELEMETRY_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as e:
            return f"{name}: {type(e).__name__}: {e}"
    return None


def need_opentelemetry() -> None:
    """The real SDK, or a failure on CI / a skip elsewhere that says how to install it."""
    problem = opentelemetry_missing()
    if problem is None:
        return
    message = (
        f"the OpenTelemetry SDK cannot be imported ({problem}): run tests/python/install-opentelemetry.sh "
        "(root; it installs the wheels of ../shared/wheelhouse and the Debian packages they need into "
        "/opt/datastack/opentelemetry, or $DATASTACK_OTEL_SDK)"
    )
    unavailable(message)


def unavailable(message: str) -> None:
    """What a test does when an optional prerequisite (the SDK, Docker) is missing: fail on CI, skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def hide(monkeypatch, module: str) -> None:
    """``import module`` fails as if it were not installed, even where it (or a module below it) was imported before;
    monkeypatch puts everything back."""
    for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
