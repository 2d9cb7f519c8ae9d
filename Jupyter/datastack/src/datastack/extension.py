"""The IPython extension: one span per executed cell, and the ``%%sql`` cell magic.

What a cell span carries: ``jupyter.cell.execution_count``, ``jupyter.cell.id``, ``jupyter.cell.lines`` and
``jupyter.cell.code``, the first 200 characters of the cell with secrets masked (see ``redaction``);
``DATASTACK_TRACE_CELL_CODE=off`` (read at every cell, so ``%env`` works) leaves the code out. A failing
cell's span is in ERROR with the exception, its message and traceback masked the same way.

When the spans stop reaching the OTLP endpoint (an untrusted certificate, a stopped AppHost), the next cell
says so once on its stderr, with the reason: otherwise the failure would only be in the kernel's log.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from . import tracing
from .redaction import scrub

EXCERPT_CHARS = 200
CELL_CODE_SWITCH = "DATASTACK_TRACE_CELL_CODE"


def code_excerpt_enabled() -> bool:
    """False when ``DATASTACK_TRACE_CELL_CODE`` is off, false, no or 0."""
    return os.environ.get(CELL_CODE_SWITCH, "on").strip().lower() not in ("off", "false", "no", "0")


class CellTracer:
    """Starts a span before each cell and ends it after; the span is current while the cell runs,
    so spans of requests / psycopg calls made by the cell become its children."""

    def __init__(self, shell: Any, tracer: Any, parent: Any = None) -> None:
        self.shell = shell
        self.tracer = tracer
        self._parent = parent
        self._span: Any = None
        self._token: Any = None
        self._code = ""

    def pre_run_cell(self, info: Any) -> None:
        self._finish(None)  # a cell that never reported back (e.g. interrupted kernel)
        current = tracing.state()
        if current is None or not current.enabled:
            return  # tracing.shutdown() was called: no more cell spans
        from opentelemetry import context, trace

        count = getattr(self.shell, "execution_count", None)
        name = f"cell {count}" if isinstance(count, int) else "cell"
        attributes: dict[str, Any] = {}
        if isinstance(count, int):
            attributes["jupyter.cell.execution_count"] = count
        cell_id = getattr(info, "cell_id", None)
        if cell_id:
            attributes["jupyter.cell.id"] = str(cell_id)
        self._code = getattr(info, "raw_cell", None) or ""
        if self._code:
            attributes["jupyter.cell.lines"] = self._code.count("\n") + 1
        self._span = self.tracer.start_span(name, context=self._parent, kind=trace.SpanKind.INTERNAL, attributes=attributes)
        self._token = context.attach(trace.set_span_in_context(self._span))

    def post_run_cell(self, result: Any) -> None:
        self._finish(result)

    def _finish(self, result: Any) -> None:
        span, token, code = self._span, self._token, self._code
        self._span = self._token = None
        self._code = ""
        if span is None:
            return
        from opentelemetry import context, trace
        from opentelemetry.trace import Status, StatusCode

        # Detach only where we attached: IPython may call post_run_cell from another context
        # (a different asyncio task), where detaching would fail.
        if trace.get_current_span() is span:
            context.detach(token)
        # The excerpt is taken after the cell ran, so a key the cell passed to connect() is already known.
        if code.strip() and code_excerpt_enabled():
            excerpt = scrub(code.strip())
            span.set_attribute("jupyter.cell.code", excerpt if len(excerpt) <= EXCERPT_CHARS else excerpt[: EXCERPT_CHARS - 1] + "…")
        if result is not None:
            error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
            if error is not None:
                message = scrub(str(error))
                stacktrace = scrub("".join(traceback.format_exception(type(error), error, error.__traceback__)))
                # The SDK's own message and stacktrace are replaced (its attributes argument wins).
                span.record_exception(error, attributes={"exception.message": message, "exception.stacktrace": stacktrace})
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {message}"[:500]))
        span.end()
        failure = tracing.unreported_export_failure()
        if failure is not None:
            print(f"datastack: this notebook's spans are not reaching the dashboard: {failure}", file=sys.stderr)


def parent_from_environment() -> Any:
    """The context in ``TRACEPARENT`` (and ``TRACESTATE``), the OpenTelemetry way to hand a trace to a child process;
    None without it. A notebook job's kernel gets its job span there from the runner: its cells become the job's
    children. In JupyterLab it is not set and each cell span starts a trace of its own, as before."""
    return tracing.context_from(os.environ.get("TRACEPARENT", "").strip(), os.environ.get("TRACESTATE"))


_state: dict[str, Any] = {}


def load(shell: Any) -> None:
    """Register ``%%sql`` and, when tracing is on, the cell hooks; tracing problems only turn tracing off."""
    if _state.get("shell") is shell:
        return
    status = tracing.setup()  # never raises: a bad OTEL_* setting is a reason, not a traceback
    shell.register_magic_function(_sql_magic, magic_kind="cell", magic_name="sql")
    if status.enabled:
        cells = CellTracer(shell, status.tracer, parent_from_environment())
        shell.events.register("pre_run_cell", cells.pre_run_cell)
        shell.events.register("post_run_cell", cells.post_run_cell)
        _state["cells"] = cells
    print(f"datastack: {tracing.status()}. %%sql is available.")
    _state["shell"] = shell


def unload(shell: Any) -> None:
    cells = _state.pop("cells", None)
    if cells is not None:
        shell.events.unregister("pre_run_cell", cells.pre_run_cell)
        shell.events.unregister("post_run_cell", cells.post_run_cell)
        cells._finish(None)
    _state.pop("shell", None)


def _sql_magic(line: str, cell: str) -> Any:
    """%%sql [variable] — run the cell on the analytics database and show the result as a DataFrame.

    With a variable name, the DataFrame is also stored in it. The cell is sent as written (no
    templating: use ``client.sql(query, params)`` for parameters).
    """
    from IPython import get_ipython

    import datastack

    shell = get_ipython()
    target = line.strip()
    frame = datastack.default_client().sql(cell)
    if target:
        if not target.isidentifier():
            raise ValueError(f"%%sql takes an optional variable name, got {target!r}")
        shell.user_ns[target] = frame
    return frame
