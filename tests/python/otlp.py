"""Real OTLP receivers for the tests: what the OpenTelemetry SDK's exporters send, decoded from the wire.

``OtlpHttpReceiver`` answers ``POST /v1/traces`` (OTLP/HTTP, protobuf) and ``OtlpGrpcReceiver`` serves the
OTLP ``TraceService`` over gRPC, optionally over TLS with a certificate made for the test (``openssl``). Both
decode the requests with the ``opentelemetry-proto`` classes, as a collector does. A hand-written receiver is
needed because none ships in the OpenTelemetry Python packages (the collector is a Go program).
"""

from __future__ import annotations

import http.server
import pathlib
import subprocess
import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReceivedSpan:
    """One span as it arrived: its resource's ``service.name``, and everything a test asserts on."""

    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    attributes: dict[str, Any]
    status_code: str
    status_message: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # (trace id, span id) of each span this one links to
    links: list[tuple[str, str]] = field(default_factory=list)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


def _attributes(key_values: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


def decode(payload: bytes) -> list[ReceivedSpan]:
    """The spans of one ``ExportTraceServiceRequest``."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    request = ExportTraceServiceRequest()
    request.ParseFromString(payload)
    spans = []
    for resource_spans in request.resource_spans:
        service = str(_attributes(resource_spans.resource.attributes).get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        service=service,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=Span.SpanKind.Name(span.kind),
                        attributes=_attributes(span.attributes),
                        status_code=Status.StatusCode.Name(span.status.code),
                        status_message=span.status.message,
                        events=[(event.name, _attributes(event.attributes)) for event in span.events],
                        links=[(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                    )
                )
    return spans


class _Spans:
    """The spans received so far, shared between the server's threads and the test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self.requests = 0

    def add(self, payload: bytes) -> None:
        spans = decode(payload)
        with self._lock:
            self._spans.extend(spans)
            self.requests += 1

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)


class OtlpHttpReceiver(_Spans):
    """OTLP/HTTP with protobuf bodies on 127.0.0.1; ``url`` is what ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes."""

    def __init__(self) -> None:
        super().__init__()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.add(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def make_certificate(folder: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A self-signed certificate for ``localhost`` (as the ASP.NET Core developer certificate is), and its key."""
    cert, key = folder / "otlp-cert.pem", folder / "otlp-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class OtlpGrpcReceiver(_Spans):
    """The OTLP ``TraceService`` over gRPC on 127.0.0.1; over TLS when given a certificate and its key."""

    def __init__(self, certificate: tuple[pathlib.Path, pathlib.Path] | None = None) -> None:
        super().__init__()
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 (the service's method name)
                receiver.add(request.SerializeToString())
                return trace_service_pb2.ExportTraceServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self._server)
        if certificate is None:
            port = self._server.add_insecure_port("127.0.0.1:0")
            self.url = f"http://localhost:{port}"
        else:
            cert, key = certificate
            credentials = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
            port = self._server.add_secure_port("127.0.0.1:0", credentials)
            self.url = f"https://localhost:{port}"
        self._server.start()

    def close(self) -> None:
        self._server.stop(grace=None)
