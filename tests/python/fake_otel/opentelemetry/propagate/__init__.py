"""Test stand-in for opentelemetry.propagate (API 1.39.1): W3C traceparent of the current span."""

from opentelemetry import trace


def inject(carrier, context=None, setter=None):
    span_context = trace.get_current_span(context).get_span_context()
    if span_context.is_valid:
        carrier["traceparent"] = f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-01"
