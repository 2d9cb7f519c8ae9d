"""Test stand-in for opentelemetry.sdk.trace (SDK 1.39.1): recording spans with the SDK's status and
record_exception rules, and a TracerProvider that passes ended spans to its processors."""

import random
import traceback
from contextlib import contextmanager

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode


class Span:
    def __init__(self, name, parent, kind, attributes, resource, processors):
        self.name = name
        self.parent = parent if parent is not None and parent.is_valid else None
        trace_id = self.parent.trace_id if self.parent is not None else random.getrandbits(128) or 1
        self.context = SpanContext(trace_id, random.getrandbits(64) or 1)
        self.kind = kind
        self.attributes = dict(attributes or {})
        self.resource = resource
        self.events = []
        self.status = Status(StatusCode.UNSET)
        self._processors = processors
        self._ended = False

    def get_span_context(self):
        return self.context

    def is_recording(self):
        return not self._ended

    def set_attribute(self, key, value):
        if not self._ended:
            self.attributes[key] = value

    def add_event(self, name, attributes=None, timestamp=None):
        self.events.append((name, dict(attributes or {})))

    def record_exception(self, exception, attributes=None, timestamp=None, escaped=False):
        stacktrace = "".join(traceback.format_exception(type(exception), value=exception, tb=exception.__traceback__))
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        merged = {
            "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": stacktrace,
            "exception.escaped": str(escaped),
        }
        if attributes:
            merged.update(attributes)
        self.add_event("exception", merged, timestamp)

    def set_status(self, status, description=None):
        # The SDK's rules: OK is final, UNSET is ignored.
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if self.status.status_code is StatusCode.OK or status.status_code is StatusCode.UNSET:
            return
        self.status = status

    def end(self, end_time=None):
        if self._ended:
            return
        self._ended = True
        for processor in self._processors:
            processor.on_end(self)


class Tracer:
    def __init__(self, provider):
        self._provider = provider

    def start_span(self, name, context=None, kind=SpanKind.INTERNAL, attributes=None, links=None, start_time=None, record_exception=True, set_status_on_exception=True):
        parent = trace_api.get_current_span(context).get_span_context()
        return Span(name, parent, kind, attributes, self._provider.resource, self._provider._processors)

    @contextmanager
    def start_as_current_span(self, name, context=None, kind=SpanKind.INTERNAL, attributes=None, links=None, start_time=None, record_exception=True, set_status_on_exception=True, end_on_exit=True):
        span = self.start_span(name, context, kind, attributes)
        with trace_api.use_span(span, end_on_exit=end_on_exit):
            try:
                yield span
            except Exception as e:
                span.record_exception(e)
                span.set_status(Status(StatusCode.ERROR, f"{type(e).__name__}: {e}"))
                raise


class TracerProvider(trace_api.TracerProvider):
    def __init__(self, sampler=None, resource=None, shutdown_on_exit=True, active_span_processor=None, id_generator=None, span_limits=None):
        self._resource = resource if resource is not None else Resource.create({})
        self._processors = []
        self.is_shutdown = False

    @property
    def resource(self):
        return self._resource

    def get_tracer(self, instrumenting_module_name, instrumenting_library_version=None, schema_url=None, attributes=None):
        return Tracer(self)

    def add_span_processor(self, span_processor):
        self._processors.append(span_processor)

    def shutdown(self):
        self.is_shutdown = True
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis=30000):
        return all(processor.force_flush(timeout_millis) for processor in self._processors)
