"""Test stand-in for opentelemetry-instrumentation-psycopg 0.60b1: records the options it was given."""

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor


class PsycopgInstrumentor(BaseInstrumentor):
    options = None

    def _instrument(self, **kwargs):
        PsycopgInstrumentor.options = dict(kwargs)

    def _uninstrument(self, **kwargs):
        PsycopgInstrumentor.options = None
