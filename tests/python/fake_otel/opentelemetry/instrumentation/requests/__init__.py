"""Test stand-in for opentelemetry-instrumentation-requests 0.60b1: a CLIENT span around Session.send, the
status set from the HTTP status (4xx and 5xx are ERROR for a client), then response_hook(span, request, response)."""

import requests

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.trace import SpanKind, Status, StatusCode


class RequestsInstrumentor(BaseInstrumentor):
    _original_send = None

    def _instrument(self, **kwargs):
        tracer = trace.get_tracer(__name__, tracer_provider=kwargs.get("tracer_provider"))
        response_hook = kwargs.get("response_hook")
        original = requests.Session.send
        RequestsInstrumentor._original_send = original

        def send(session, request, **send_kwargs):
            with tracer.start_as_current_span(request.method, kind=SpanKind.CLIENT) as span:
                propagate.inject(request.headers)
                result = original(session, request, **send_kwargs)
                span.set_attribute("http.status_code", result.status_code)
                span.set_status(Status(StatusCode.ERROR if result.status_code >= 400 else StatusCode.UNSET))
                if callable(response_hook):
                    response_hook(span, request, result)
                return result

        requests.Session.send = send

    def _uninstrument(self, **kwargs):
        requests.Session.send = RequestsInstrumentor._original_send
