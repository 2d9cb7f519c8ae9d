"""The IPython extension loads in any kernel; without the OpenTelemetry SDK it says tracing is off."""

import importlib.util

from prereq import need

need("IPython", "pandas")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402


def test_extension_loads_and_reports_tracing_off_without_sdk(capsys):
    """%load_ext datastack succeeds and prints why tracing is off when opentelemetry-sdk is absent."""
    assert importlib.util.find_spec("opentelemetry") is None or importlib.util.find_spec("opentelemetry.sdk") is None, (
        "this test covers the no-SDK case; the OpenTelemetry SDK is installed here"
    )
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    out = capsys.readouterr().out
    assert "tracing off" in out and "OpenTelemetry SDK is not installed" in out
    assert "))" not in out and out.count("(") == out.count(")")
    assert "sql" in shell.magics_manager.magics["cell"]


def test_cells_still_run_after_loading():
    """Loading the extension without tracing leaves cell execution untouched."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    result = shell.run_cell("x = 6 * 7")
    assert result.success and shell.user_ns["x"] == 42


def test_inject_is_a_no_op_without_opentelemetry():
    """The traceparent helper adds nothing when no span can be current."""
    from datastack import tracing

    headers = {}
    tracing.inject(headers)
    assert "traceparent" not in headers


def test_tracing_extra_installs_the_exporter_aspire_asks_for():
    """pip install 'datastack[tracing]' brings the gRPC exporter (Aspire sets OTEL_EXPORTER_OTLP_PROTOCOL=grpc) and the HTTP one."""
    import pathlib
    import tomllib

    pyproject = pathlib.Path(__file__).resolve().parents[2] / "Jupyter" / "datastack" / "pyproject.toml"
    extra = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["tracing"]
    assert "opentelemetry-exporter-otlp-proto-grpc" in extra
    assert "opentelemetry-exporter-otlp-proto-http" in extra
