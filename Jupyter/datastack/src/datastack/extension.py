"""The IPython extension: one span per executed cell, and the ``%%sql`` cell magic."""

from __future__ import annotations

from typing import Any

from . import tracing

EXCERPT_CHARS = 200


class CellTracer:
    """Starts a span before each cell and ends it after; the span is current while the cell runs,
    so spans of requests / psycopg calls made by the cell become its children."""

    def __init__(self, shell: Any, tracer: Any) -> None:
        self.shell = shell
        self.tracer = tracer
        self._span: Any = None
        self._token: Any = None

    def pre_run_cell(self, info: Any) -> None:
        from opentelemetry import context, trace

        self._finish(None)  # a cell that never reported back (e.g. interrupted kernel)
        count = getattr(self.shell, "execution_count", None)
        name = f"cell {count}" if isinstance(count, int) else "cell"
        attributes: dict[str, Any] = {}
        if isinstance(count, int):
            attributes["jupyter.cell.execution_count"] = count
        cell_id = getattr(info, "cell_id", None)
        if cell_id:
            attributes["jupyter.cell.id"] = str(cell_id)
        code = getattr(info, "raw_cell", None) or ""
        if code:
            excerpt = code.strip()
            attributes["jupyter.cell.code"] = excerpt if len(excerpt) <= EXCERPT_CHARS else excerpt[: EXCERPT_CHARS - 1] + "…"
            attributes["jupyter.cell.lines"] = code.count("\n") + 1
        self._span = self.tracer.start_span(name, kind=trace.SpanKind.INTERNAL, attributes=attributes)
        self._token = context.attach(trace.set_span_in_context(self._span))

    def post_run_cell(self, result: Any) -> None:
        self._finish(result)

    def _finish(self, result: Any) -> None:
        span, token = self._span, self._token
        self._span = self._token = None
        if span is None:
            return
        from opentelemetry import context, trace
        from opentelemetry.trace import Status, StatusCode

        # Detach only where we attached: IPython may call post_run_cell from another context
        # (a different asyncio task), where detaching would fail.
        if trace.get_current_span() is span:
            context.detach(token)
        if result is not None:
            error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:500]))
        span.end()


_state: dict[str, Any] = {}


def load(shell: Any) -> None:
    if _state.get("shell") is shell:
        return
    shell.register_magic_function(_sql_magic, magic_kind="cell", magic_name="sql")
    status = tracing.setup()
    if status.enabled:
        cells = CellTracer(shell, status.tracer)
        shell.events.register("pre_run_cell", cells.pre_run_cell)
        shell.events.register("post_run_cell", cells.post_run_cell)
        _state["cells"] = cells
        extra = f"; instrumented: {', '.join(status.instrumented)}" if status.instrumented else ""
        print(f"datastack: tracing on, every cell is a span, {status.reason}{extra}. %%sql is available.")
    else:
        print(f"datastack: tracing off ({status.reason}). %%sql is available.")
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
