"""datastack.tracing with the real OpenTelemetry SDK and its own failure modes: a bad telemetry setting turns
tracing off with the reason, it never breaks %load_ext; exports that fail show in status(), with the reason."""

import http.server
import sys
import threading

import pytest

from prereq import hide, need
from stack import eventually

need("IPython", "pandas", "requests")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402


def load(capsys):
    """%load_ext datastack in the test shell; returns what it printed."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datastack")
    return shell, capsys.readouterr().out


def assert_fully_loaded_with_tracing_off(shell):
    """%%sql exists, no cell hook is left behind, cells run, %reload_ext works."""
    from datastack import extension

    assert "sql" in shell.magics_manager.magics["cell"]
    assert extension._state.get("shell") is shell and "cells" not in extension._state
    assert shell.run_cell("y = 2 + 2").success and shell.user_ns["y"] == 4
    shell.run_line_magic("reload_ext", "datastack")
    assert "datastack" in shell.extension_manager.loaded


@pytest.mark.parametrize(
    ("variable", "value", "error"),
    [
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "ValueError: could not convert string to float: '10s'"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "ValueError: 'zstd' is not a valid Compression"),
    ],
)
def test_a_setting_the_exporter_rejects_turns_tracing_off_with_the_reason(otel, monkeypatch, capsys, variable, value, error):
    """OTEL_EXPORTER_OTLP_TIMEOUT=10s or ..._COMPRESSION=zstd: no traceback, tracing off, the SDK's error printed."""
    monkeypatch.setenv(variable, value)
    shell, out = load(capsys)
    assert "tracing off" in out and error in out and "OTEL_EXPORTER_OTLP_" in out
    assert_fully_loaded_with_tracing_off(shell)


def test_an_instrumentation_that_raises_is_reported_and_tracing_stays_on(otel, monkeypatch, capsys):
    """A failing instrumentation is named in the status line; the cell spans still work."""
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    def broken(self, **kwargs):
        raise RuntimeError("psycopg 2.9 is not supported")

    monkeypatch.setattr(PsycopgInstrumentor, "_instrument", broken)
    _, out = load(capsys)
    assert "tracing on" in out and "psycopg not instrumented (RuntimeError: psycopg 2.9 is not supported)" in out


def test_grpc_exporter_with_a_missing_dependency_says_what_failed(otel, monkeypatch, capsys):
    """The gRPC exporter is installed but grpcio is not: the message names grpc, not 'not installed'."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    hide(monkeypatch, "grpc")  # grpcio missing, whether or not it is installed here
    hide(monkeypatch, "opentelemetry.exporter.otlp.proto.grpc")
    monkeypatch.delitem(sys.modules, "opentelemetry.exporter.otlp.proto.grpc")  # installed: only grpc is missing
    shell, out = load(capsys)
    assert "needs opentelemetry-exporter-otlp-proto-grpc, which is installed but cannot be imported" in out
    assert "grpc" in out.split("cannot be imported", 1)[1] and "which is not installed" not in out
    assert_fully_loaded_with_tracing_off(shell)


def test_grpc_exporter_that_is_absent_is_reported_as_not_installed(otel, monkeypatch, capsys):
    """Without the gRPC exporter package at all, the message says to install it."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    hide(monkeypatch, "opentelemetry.exporter.otlp.proto.grpc")
    _, out = load(capsys)
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc, which is not installed" in out


def test_an_existing_tracer_provider_gets_the_cell_spans_and_the_message_says_so(otel, capsys):
    """Under opentelemetry-instrument a provider is already set: the extension says so and uses it."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    theirs = TracerProvider()
    received = InMemorySpanExporter()
    theirs.add_span_processor(SimpleSpanProcessor(received))
    trace.set_tracer_provider(theirs)

    shell, out = load(capsys)
    assert "tracing on" in out and "already set" in out and "not to an exporter of datastack's own" in out
    assert "exporting to" not in out
    shell.run_cell("z = 1")
    theirs.force_flush()
    assert [s.attributes.get("jupyter.cell.code") for s in received.get_finished_spans()] == ["z = 1"]
    assert otel.spans == [] and otel.requests == 0


def test_a_no_op_tracer_provider_already_set_means_tracing_off(otel, capsys):
    """A NoOpTracerProvider set before the extension: nothing would be exported, so it says tracing off."""
    from opentelemetry import trace

    trace.set_tracer_provider(trace.NoOpTracerProvider())
    shell, out = load(capsys)
    assert "tracing off (a no-op tracer provider" in out
    assert_fully_loaded_with_tracing_off(shell)


class DatasetServer:
    """GET /datasets/<name>: 404 problem+json, as Processing answers for a dataset that does not exist."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                payload = b'{"title":"Not Found","status":404,"detail":"no dataset"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_404_of_an_existence_check_is_not_an_error_span(otel, capsys):
    """upload()'s lookup of a new dataset answers 404 by design: its requests span is not ERROR; other 404s are."""
    import datastack as ds
    from datastack import tracing

    _, out = load(capsys)
    assert "instrumented: requests" in out
    server = DatasetServer()
    try:
        client = ds.connect(processing_url=server.url, api_key="test-key-404", database=False, progress=False)
        assert client._get_dataset_or_none("fresh") is None
        with pytest.raises(ds.NotFoundError):
            client.dataset("missing")
    finally:
        server.close()
    assert tracing.flush() is True
    lookup, plain = [s for s in otel.spans if s.kind == "SPAN_KIND_CLIENT"]
    assert lookup.attributes["http.status_code"] == 404 and lookup.status_code != "STATUS_CODE_ERROR"
    assert lookup.attributes["datastack.not_found_expected"] is True
    assert plain.attributes["http.status_code"] == 404 and plain.status_code == "STATUS_CODE_ERROR"


def test_flush_exports_now_and_says_false_when_tracing_is_off(otel):
    """flush() pushes finished spans to the exporter; without tracing it returns False."""
    from datastack import tracing

    assert tracing.flush() is False
    state = tracing.setup()
    span = state.tracer.start_span("manual")
    span.end()

    assert otel.spans == [] and tracing.flush() is True and [s.name for s in otel.spans] == ["manual"]
    assert otel.spans[0].service == "jupyter"


# ---------------------------------------------------------------------- exporter health in status()


def test_status_says_the_exports_succeed_once_a_batch_arrived(otel, capsys):
    """status() reports the exporter's health: before any export, then after one that arrived."""
    from datastack import tracing

    shell, out = load(capsys)
    assert "no export yet" in out
    shell.run_cell("x = 1")
    assert tracing.flush() is True and otel.spans
    assert "exports succeeding (1 batches)" in tracing.status()


@pytest.fixture
def tls_receiver(otel, monkeypatch, tmp_path):
    """An OTLP/gRPC receiver over TLS with a self-signed certificate, as the dashboard serves; the SDK is pointed at it."""
    from otlp import OtlpGrpcReceiver, make_certificate

    certificate = make_certificate(tmp_path)
    receiver = OtlpGrpcReceiver(certificate)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    receiver.certificate = certificate[0]
    yield receiver
    receiver.close()


def test_an_untrusted_certificate_shows_in_status_and_once_under_the_next_cell(tls_receiver, monkeypatch, capsys):
    """gRPC over TLS to an endpoint whose certificate is not trusted: status() says exports fail and why."""
    from datastack import tracing

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")  # the exporter's retries stop after 2 s
    shell, _ = load(capsys)
    shell.run_cell("x = 1")
    tracing.flush()
    eventually(lambda: "exports failing" in tracing.status(), 30, "the failed export", interval=0.05)

    status = tracing.status()
    assert status.startswith("tracing on, every cell is a span")
    assert "exports failing since" in status and "certificate verify failed" in status
    assert "see README, 'The developer certificate'" in status and "Ssl handshake failed" in status
    assert tls_receiver.spans == []
    capsys.readouterr()
    shell.run_cell("y = 2")
    shell.run_cell("z = 3")
    err = capsys.readouterr().err
    assert err.count("spans are not reaching the dashboard: certificate verify failed") == 1


def test_a_trusted_certificate_lets_the_spans_through_over_tls(tls_receiver, monkeypatch, capsys):
    """The same endpoint with its certificate in OTEL_EXPORTER_OTLP_CERTIFICATE (what Aspire sets): spans arrive."""
    from datastack import tracing

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(tls_receiver.certificate))
    shell, _ = load(capsys)
    shell.run_cell("over_tls = 1")
    assert tracing.flush() is True, tracing.status()

    assert [s.attributes.get("jupyter.cell.code") for s in tls_receiver.spans] == ["over_tls = 1"]
    assert "exports succeeding" in tracing.status()


def test_an_endpoint_nobody_listens_on_shows_as_connection_refused(otel, monkeypatch, capsys):
    """OTLP/HTTP to a closed port: the requests exception is the reason status() gives."""
    from datastack import tracing
    from otlp import OtlpHttpReceiver

    closed = OtlpHttpReceiver()
    closed.close()  # its port is free again, and nothing listens there
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", closed.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    shell, _ = load(capsys)
    shell.run_cell("x = 1")
    tracing.flush()
    eventually(lambda: "exports failing" in tracing.status(), 30, "the failed export", interval=0.05)

    assert "connection refused" in tracing.status().lower()
