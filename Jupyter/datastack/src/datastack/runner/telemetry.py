"""The runner's traces: a ``job python`` span per attempt, with the pipeline's own spans under it.

The span lives in the runner's main process, which knows how every attempt ends (also when it kills the job's
process at a timeout or a cancel); it is a child of the request that queued the job (the claimed job's
``traceParent``), or the root of a trace of its own when the job says ``traceMode: newTrace``
(``Processing:JobTraceMode``), and links to that request either way, as Processing's own ``job …`` spans do. Its context goes to the worker process
with the job, which makes it current while the pipeline runs: the ``requests`` and ``psycopg`` spans of the
pipeline (and its ``ds.connect()`` calls to Processing) are its children. A notebook's kernel gets it as
``TRACEPARENT`` in its environment, where the datastack extension's cell spans take it as their parent.

Everything is configured by ``datastack.tracing.setup()`` from the ``OTEL_*`` variables, in each process; without
the OpenTelemetry SDK, or without an endpoint, all of this does nothing.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

from .. import tracing
from ..redaction import scrub

TRACER_NAME = "datastack.runner"
SPAN_NAME = "job python"

_log = logging.getLogger(__name__)


class JobSpans:
    """In the runner's main process: starts and ends the job spans."""

    def __init__(self) -> None:
        state = tracing.setup()
        self.status = tracing.status()
        self._tracer = None
        if state.enabled:
            from opentelemetry import trace

            self._tracer = trace.get_tracer(TRACER_NAME)

    def start(self, job: dict[str, Any], target: str) -> tuple[Any, str | None]:
        """The span of one attempt and its ``traceparent`` for the worker; (None, None) when tracing is off."""
        if self._tracer is None:
            return None, None
        try:
            from opentelemetry import propagate, trace
            from opentelemetry.context import Context

            submitter = tracing.context_from(job.get("traceParent"), job.get("traceState"))
            links = []
            if submitter is not None:
                request = trace.get_current_span(submitter).get_span_context()
                if request.is_valid:
                    links.append(trace.Link(request, {"datastack.link": "submitted by"}))
            # Processing:JobTraceMode, as for Processing's own jobs: under the request (child), or a trace of its own.
            parent = Context() if job.get("traceMode") == "newTrace" else submitter
            span = self._tracer.start_span(
                SPAN_NAME,
                context=parent,
                kind=trace.SpanKind.CONSUMER,
                links=links,
                attributes={
                    "datastack.job.id": str(job.get("id")),
                    "datastack.job.kind": "python",
                    "datastack.job.target": target,
                    "datastack.job.attempt": int(job.get("attempt") or 1),
                    "datastack.job.max_attempts": int(job.get("maxAttempts") or 1),
                },
            )
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(span))
            return span, carrier.get("traceparent")
        except Exception:  # telemetry never stops a job
            _log.debug("job span not started", exc_info=True)
            return None, None

    def end(self, span: Any, status: str, error: dict[str, Any] | None = None) -> None:
        """End an attempt's span: ``status`` is succeeded, retrying, failed, cancelled, returned or lease_lost."""
        if span is None:
            return
        try:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("datastack.job.status", status)
            if error is not None:
                kind = error.get("type") or error.get("code") or "error"
                message = scrub(str(error.get("message") or ""))
                attributes = {"exception.type": str(kind), "exception.message": message}
                if error.get("traceback"):
                    attributes["exception.stacktrace"] = scrub(str(error["traceback"]))
                span.add_event("exception", attributes)
                span.set_attribute("datastack.job.error_code", str(error.get("code") or ""))
                span.set_status(Status(StatusCode.ERROR, f"{kind}: {message}"[:500]))
            span.end()
        except Exception:
            _log.debug("job span not ended", exc_info=True)

    def flush(self) -> None:
        tracing.flush(5000)


class WorkerSpans:
    """In a worker process: the job span's context is current while the pipeline runs; the spans the pipeline made
    are sent when the job ends (the process may be killed before the SDK's next scheduled export)."""

    def __init__(self) -> None:
        self._ended = 0
        self._flushed = 0
        state = tracing.setup()
        self.enabled = state.enabled
        add = getattr(state.provider, "add_span_processor", None)
        if self.enabled and callable(add):
            add(_EndedCounter(self))

    @contextlib.contextmanager
    def current(self, traceparent: str | None) -> Iterator[None]:
        if not self.enabled or not traceparent:
            yield
            return
        from opentelemetry import context

        token = context.attach(tracing.context_from(traceparent))
        try:
            yield
        finally:
            context.detach(token)

    def flush_if_any(self) -> None:
        if self._ended != self._flushed:
            self._flushed = self._ended
            tracing.flush(5000)


class _EndedCounter:
    """A span processor that only counts the spans ended in this process."""

    def __init__(self, owner: WorkerSpans) -> None:
        self._owner = owner

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        pass

    def on_end(self, span: Any) -> None:
        self._owner._ended += 1

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
