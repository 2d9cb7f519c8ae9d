"""Test stand-in for the OTLP/HTTP span exporter (1.39.1): reads timeout and compression from the
environment with the real conversions (float(...), Compression(...)), so bad values raise the same
errors; "exports" into EXPORTED instead of a collector."""

from os import environ

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.sdk.trace.export import SpanExportResult

EXPORTED = []


class OTLPSpanExporter:
    def __init__(self, endpoint=None, certificate_file=None, client_key_file=None, client_certificate_file=None, headers=None, timeout=None, compression=None, session=None):
        self._timeout = timeout or float(environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", environ.get("OTEL_EXPORTER_OTLP_TIMEOUT", 10)))
        self._compression = compression or Compression(
            environ.get("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", environ.get("OTEL_EXPORTER_OTLP_COMPRESSION", "none")).lower().strip()
        )
        self.is_shutdown = False

    def export(self, spans):
        if self.is_shutdown:
            return SpanExportResult.FAILURE
        EXPORTED.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self):
        self.is_shutdown = True
