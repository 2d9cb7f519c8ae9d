"""The IPython extension: loads in any kernel, one span per cell, nothing secret in what a cell span carries.

The no-SDK cases hide the SDK (`otel_absent`); the traced cases use the real OpenTelemetry SDK, whose OTLP/HTTP
exporter sends to a receiver of the test (`otel`, tests/python/otlp.py): what is asserted is what went over the wire.
"""

import pathlib

from prereq import need

need("IPython", "pandas")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

STARTUP = pathlib.Path(__file__).resolve().parents[2] / "Jupyter" / "startup" / "00-datastack.py"
KEY = "k3y-typed-into-a-cell-9f2c"


def exported_spans(receiver):
    """Flush and return what the OTLP receiver has received."""
    from datastack import tracing

    assert tracing.flush() is True, tracing.status()
    return receiver.spans


def test_extension_loads_and_reports_tracing_off_without_sdk(otel_absent, capsys):
    """%load_ext datastack succeeds and prints why tracing is off when opentelemetry-sdk is absent."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    out = capsys.readouterr().out
    assert "tracing off" in out and "OpenTelemetry SDK is not installed" in out
    assert "))" not in out and out.count("(") == out.count(")")
    assert "sql" in shell.magics_manager.magics["cell"]


def test_cells_still_run_after_loading(otel_absent):
    """Loading the extension without tracing leaves cell execution untouched."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    result = shell.run_cell("x = 6 * 7")
    assert result.success and shell.user_ns["x"] == 42


def test_inject_is_a_no_op_without_opentelemetry(otel_absent):
    """The traceparent helper adds nothing when no span can be current."""
    from datastack import tracing

    headers = {}
    tracing.inject(headers)
    assert "traceparent" not in headers


def test_startup_file_loads_the_extension_so_load_ext_says_already_loaded(otel_absent, capsys):
    """The image's startup file loads the extension; a notebook's own %load_ext then only says so."""
    shell = InteractiveShell.instance()
    shell.run_cell(STARTUP.read_text(), silent=True)
    assert "datastack" in shell.extension_manager.loaded
    capsys.readouterr()
    shell.run_line_magic("load_ext", "datastack")
    assert "already loaded" in capsys.readouterr().out
    from datastack import tracing

    assert tracing.status().startswith("tracing off (the OpenTelemetry SDK is not installed")


def test_each_cell_is_a_span_with_its_number_lines_and_excerpt(otel, capsys):
    """A cell's span carries its execution count, line count and the start of its code."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    assert "tracing on, every cell is a span" in capsys.readouterr().out
    shell.run_cell("a = 1\nb = 2", store_history=True)
    [span] = [s for s in exported_spans(otel) if s.attributes.get("jupyter.cell.code") == "a = 1\nb = 2"]
    assert span.name == f"cell {span.attributes['jupyter.cell.execution_count']}"
    assert span.attributes["jupyter.cell.lines"] == 2


def test_a_failing_cell_is_an_error_span_with_the_exception(otel):
    """A cell that raises ends its span in ERROR with an exception event."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    shell.run_cell("1 / 0")
    [span] = [s for s in exported_spans(otel) if s.attributes.get("jupyter.cell.code") == "1 / 0"]
    assert span.status_code == "STATUS_CODE_ERROR" and "ZeroDivisionError" in span.status_message
    assert [name for name, _ in span.events] == ["exception"]
    assert span.events[0][1]["exception.type"] == "ZeroDivisionError"


def test_the_package_secrets_never_leave_in_a_cell_span(otel, monkeypatch):
    """The API key and database password are masked in the excerpt, the exception and the status."""
    monkeypatch.setenv("DATASTACK_API_KEY", KEY)
    monkeypatch.setenv("ANALYTICS_URI", "postgresql://app:pg-pass-7d1e@db:5432/analytics")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    shell.run_cell(f"token_copy = '{KEY}'\nraise RuntimeError('refused pg-pass-7d1e and {KEY}')")
    spans = exported_spans(otel)
    text = repr([(s.attributes, s.status_message, s.events) for s in spans])
    assert spans and KEY not in text and "pg-pass-7d1e" not in text
    assert "refused *** and ***" in text


def test_a_key_passed_to_connect_in_the_cell_itself_is_masked(otel):
    """connect(api_key=...) in a cell: the excerpt is taken after the cell ran, with the key known."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    key = "unlabelled-" + KEY
    # Named so that no credential-looking pattern applies: only the registration by connect() masks it.
    shell.run_cell(f"import datastack as ds\nk = {key!r}\nc = ds.connect(processing_url='http://p.invalid', api_key=k, database=False)")
    spans = exported_spans(otel)
    assert spans and all(key not in str(s.attributes) for s in spans)


def test_the_code_excerpt_can_be_turned_off(otel, monkeypatch):
    """DATASTACK_TRACE_CELL_CODE=off (read at every cell, so %env works) leaves the code out of the span."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    shell.run_cell("%env DATASTACK_TRACE_CELL_CODE=off")
    shell.run_cell("value_only_here = 3")
    spans = exported_spans(otel)
    assert len(spans) == 2 and "jupyter.cell.code" not in spans[1].attributes
    assert spans[1].attributes["jupyter.cell.lines"] == 1


def test_shutdown_stops_the_spans_of_later_cells_and_flushes_earlier_ones(otel, capsys):
    """tracing.shutdown() exports what was recorded, and no later cell is a span (documented in the README)."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    shell.run_cell("before = 1")
    shell.run_cell("from datastack import tracing; tracing.shutdown()")
    shell.run_cell("after = 2")

    codes = [s.attributes.get("jupyter.cell.code") for s in otel.spans]
    assert "before = 1" in codes and "after = 2" not in codes
    from datastack import tracing

    assert not tracing.state().enabled and "shutdown()" in tracing.state().reason


def test_tracing_extra_installs_the_exporter_aspire_asks_for():
    """pip install 'datastack[tracing]' brings the gRPC exporter (Aspire sets OTEL_EXPORTER_OTLP_PROTOCOL=grpc) and the HTTP one."""
    import pathlib
    import tomllib

    pyproject = pathlib.Path(__file__).resolve().parents[2] / "Jupyter" / "datastack" / "pyproject.toml"
    extra = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["tracing"]
    assert "opentelemetry-exporter-otlp-proto-grpc" in extra
    assert "opentelemetry-exporter-otlp-proto-http" in extra
