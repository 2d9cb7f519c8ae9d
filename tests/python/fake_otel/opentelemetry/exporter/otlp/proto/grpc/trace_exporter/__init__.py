"""Test stand-in for the OTLP/gRPC span exporter (1.39.1): it imports grpcio first, as the real module does,
so a missing grpcio fails the import with the real ModuleNotFoundError."""

from grpc import ChannelCredentials, Compression  # noqa: F401

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: F401  (same fake behaviour)
