"""OpenTelemetry, when it is installed; a no-op when it is not.

- ``inject(headers)`` adds W3C ``traceparent`` (and ``tracestate``) for the current span. It needs only
  the OpenTelemetry *API*; without it, or without a current span, it does nothing.
- ``setup()`` configures the SDK once per process from the standard ``OTEL_*`` variables (OTLP over
  HTTP/protobuf, service name from ``OTEL_SERVICE_NAME``, default ``jupyter``) and instruments
  ``requests`` and ``psycopg`` when those instrumentations are installed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, MutableMapping

DEFAULT_SERVICE_NAME = "jupyter"
TRACER_NAME = "datastack"

_log = logging.getLogger(__name__)
_state: "TracingState | None" = None


@dataclass
class TracingState:
    """What ``setup()`` managed to do; ``enabled`` is False with a human ``reason`` otherwise."""

    enabled: bool
    reason: str
    tracer: Any = None
    provider: Any = None
    instrumented: list[str] = field(default_factory=list)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add trace-context headers for the current span, if the OpenTelemetry API is importable."""
    try:
        from opentelemetry import propagate
    except ImportError:
        return
    try:
        propagate.inject(headers)
    except Exception:  # a broken propagator must never break a request
        _log.debug("trace context injection failed", exc_info=True)


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def setup(env: MutableMapping[str, str] | None = None) -> TracingState:
    """Configure tracing once; later calls return the same state."""
    global _state
    if _state is not None:
        return _state
    _state = _configure(os.environ if env is None else env)
    return _state


def _configure(env: MutableMapping[str, str]) -> TracingState:
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        return TracingState(False, "the OpenTelemetry SDK is not installed; pip install 'datastack[tracing]'")

    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return TracingState(False, "OTEL_EXPORTER_OTLP_ENDPOINT is not set")
    if (env.get("OTEL_TRACES_EXPORTER") or "otlp").strip().lower() == "none":
        return TracingState(False, "OTEL_TRACES_EXPORTER=none")
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TracingState(False, "OTEL_SDK_DISABLED=true")

    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip().lower()
    try:
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        package = "opentelemetry-exporter-otlp-proto-grpc" if protocol == "grpc" else "opentelemetry-exporter-otlp-proto-http"
        return TracingState(False, f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} needs {package}, which is not installed")

    # Resource.create() already reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; only the
    # default changes (the SDK's own default is 'unknown_service').
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: DEFAULT_SERVICE_NAME}
    resource = Resource.create(attributes)
    if resource.attributes.get(SERVICE_NAME, "").startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    # The exporter reads endpoint, headers, certificate and timeout from OTEL_EXPORTER_OTLP_*.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)

    instrumented = []
    try:
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        RequestsInstrumentor().instrument()
        instrumented.append("requests")
    except ImportError:
        pass
    try:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument(enable_commenter=False)
        instrumented.append("psycopg")
    except ImportError:
        pass

    service = provider.resource.attributes.get(SERVICE_NAME)
    return TracingState(
        True,
        f"exporting to {endpoint} ({protocol}) as service '{service}'",
        tracer=trace.get_tracer(TRACER_NAME),
        provider=provider,
        instrumented=instrumented,
    )


def shutdown() -> None:
    """Flush and stop the exporter (called at interpreter exit by the SDK as well)."""
    if _state is not None and _state.provider is not None:
        _state.provider.shutdown()
