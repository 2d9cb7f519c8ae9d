"""Test stand-in for opentelemetry.sdk.resources (SDK 1.39.1): service name from OTEL_SERVICE_NAME or 'unknown_service'."""

import os

SERVICE_NAME = "service.name"


class Resource:
    def __init__(self, attributes, schema_url=None):
        self._attributes = dict(attributes)

    @property
    def attributes(self):
        return dict(self._attributes)

    @classmethod
    def create(cls, attributes=None, schema_url=None):
        merged = {"telemetry.sdk.language": "python"}
        if os.environ.get("OTEL_SERVICE_NAME"):
            merged[SERVICE_NAME] = os.environ["OTEL_SERVICE_NAME"]
        merged.update(attributes or {})
        merged.setdefault(SERVICE_NAME, "unknown_service")
        return cls(merged)

    def merge(self, other):
        return Resource({**self._attributes, **other.attributes})
