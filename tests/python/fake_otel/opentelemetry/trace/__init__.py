"""Test stand-in for opentelemetry.trace (API 1.39.1): spans in context, and the set-once global provider."""

import enum
import logging
from contextlib import contextmanager

from opentelemetry import context as _context

logger = logging.getLogger(__name__)


class SpanKind(enum.Enum):
    INTERNAL = 0
    SERVER = 1
    CLIENT = 2
    PRODUCER = 3
    CONSUMER = 4


class StatusCode(enum.Enum):
    UNSET = 0
    OK = 1
    ERROR = 2


class Status:
    def __init__(self, status_code=StatusCode.UNSET, description=None):
        self.status_code = status_code
        self.description = description if status_code is StatusCode.ERROR else None


class SpanContext:
    def __init__(self, trace_id, span_id):
        self.trace_id = trace_id
        self.span_id = span_id

    @property
    def is_valid(self):
        return self.trace_id != 0 and self.span_id != 0


class NonRecordingSpan:
    def __init__(self, span_context):
        self._context = span_context

    def get_span_context(self):
        return self._context

    def is_recording(self):
        return False

    def set_attribute(self, key, value):
        pass

    def set_status(self, status, description=None):
        pass

    def record_exception(self, exception, attributes=None, timestamp=None, escaped=False):
        pass

    def end(self, end_time=None):
        pass


INVALID_SPAN = NonRecordingSpan(SpanContext(0, 0))
_SPAN_KEY = _context.create_key("current-span")


def set_span_in_context(span, context=None):
    return _context.set_value(_SPAN_KEY, span, context)


def get_current_span(context=None):
    span = _context.get_value(_SPAN_KEY, context)
    return INVALID_SPAN if span is None else span


@contextmanager
def use_span(span, end_on_exit=False):
    token = _context.attach(set_span_in_context(span))
    try:
        yield span
    finally:
        _context.detach(token)
        if end_on_exit:
            span.end()


class TracerProvider:
    def get_tracer(self, instrumenting_module_name, instrumenting_library_version=None, schema_url=None, attributes=None):
        raise NotImplementedError


class NoOpTracer:
    def start_span(self, name, context=None, kind=SpanKind.INTERNAL, attributes=None, links=None, start_time=None, record_exception=True, set_status_on_exception=True):
        return INVALID_SPAN

    @contextmanager
    def start_as_current_span(self, name, context=None, kind=SpanKind.INTERNAL, attributes=None, **kwargs):
        yield INVALID_SPAN


class NoOpTracerProvider(TracerProvider):
    def get_tracer(self, instrumenting_module_name, *args, **kwargs):
        return NoOpTracer()


class ProxyTracerProvider(TracerProvider):
    def get_tracer(self, instrumenting_module_name, *args, **kwargs):
        if _TRACER_PROVIDER is not None:
            return _TRACER_PROVIDER.get_tracer(instrumenting_module_name, *args, **kwargs)
        return NoOpTracer()


_TRACER_PROVIDER = None
_PROXY_TRACER_PROVIDER = ProxyTracerProvider()


def set_tracer_provider(tracer_provider):
    """Like the API: only the first call wins; later ones log and change nothing."""
    global _TRACER_PROVIDER
    if _TRACER_PROVIDER is not None:
        logger.warning("Overriding of current TracerProvider is not allowed")
        return
    _TRACER_PROVIDER = tracer_provider


def get_tracer_provider():
    return _PROXY_TRACER_PROVIDER if _TRACER_PROVIDER is None else _TRACER_PROVIDER


def get_tracer(instrumenting_module_name, instrumenting_library_version=None, tracer_provider=None, schema_url=None, attributes=None):
    return (tracer_provider or get_tracer_provider()).get_tracer(instrumenting_module_name, instrumenting_library_version, schema_url, attributes)
