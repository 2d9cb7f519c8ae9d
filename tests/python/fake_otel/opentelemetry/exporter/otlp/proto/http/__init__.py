"""Test stand-in for opentelemetry.exporter.otlp.proto.http (1.39.1): its Compression enum."""

import enum


class Compression(enum.Enum):
    NoCompression = "none"
    Deflate = "deflate"
    Gzip = "gzip"
