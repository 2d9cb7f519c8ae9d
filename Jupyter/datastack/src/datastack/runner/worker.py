"""A worker process: runs one job at a time for the runner, warm between jobs.

Started once per slot (from a fork server that has already imported pandas, datastack and psycopg, so a new worker
is ready in milliseconds) and reused for job after job. The runner kills it to stop a job (cancel, timeout,
shutdown) and starts another. Before each job it looks at the pipelines folder: when a file changed, the
``pipelines`` modules are forgotten and the job imports the edited code, so an edit applies to the next job
without a restart.

Messages: the runner sends ``("run", job)`` and ``("stop",)``; the worker answers ``("ready", pid)`` once, then per
job ``("kernel", id, pid)`` (a notebook's kernel, killed with the worker), ``("progress", id, rows, bytes)`` and
finally ``("done", id, outcome)``, where outcome is ``("succeeded", result_json)`` or ``("failed", error,
retryable)``.
"""

from __future__ import annotations

import importlib
import json
import linecache
import logging
import os
import pathlib
import select
import signal
import sys
import threading
import time
import traceback
from typing import Any

# Imported here so that the fork server has them loaded: every worker starts warm.
import pandas  # noqa: F401
import requests  # noqa: F401

import datastack  # noqa: F401
import datastack.client  # noqa: F401

try:
    import psycopg  # noqa: F401
except ImportError:  # ds.connect().sql() says what to install
    pass

from .. import runner as job_api
from ..redaction import scrub
from . import entrypoints, output
from .entrypoints import JobRefused

def serve(conn: Any, pipelines: str, log_level: str, runner_pid: int) -> None:
    """The worker's life: set up, then run the jobs the runner sends until it says stop (or goes away)."""
    _exit_with_runner(runner_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal reaches the whole group: the runner decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # ipykernel's debugger (imported by notebook jobs, here and in their kernels) warns on every import that Python's
    # frozen modules may hide breakpoints: nobody debugs here.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    folder = pathlib.Path(pipelines)
    sys.path.insert(0, str(folder.parent))
    # No .pyc of the pipelines from this process: a cached one is trusted on its source's mtime in whole seconds and
    # its size, so an edit of the same size within a second of the last import could run the old code.
    sys.dont_write_bytecode = True
    output.install()
    # The jobs' own INFO lines (a pipeline's logging.info) reach the console, as the runner's do.
    logging.getLogger().setLevel(log_level)  # the runner's DATASTACK_RUNNER_LOG_LEVEL, checked by its settings
    logging.getLogger("traitlets").setLevel(logging.WARNING)  # nbclient's "Executing notebook with kernel" per job
    from .telemetry import WorkerSpans

    spans = WorkerSpans()
    worker = _Worker(conn, folder, spans)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the runner is gone
        if message[0] == "stop":
            return
        job = message[1]
        conn.send(("done", job["id"], worker.run(job)))


class _Worker:
    def __init__(self, conn: Any, pipelines: pathlib.Path, spans: Any) -> None:
        self._conn = conn
        self._pipelines = pipelines
        self._spans = spans
        self._code_version: tuple[Any, ...] | None = _code_version(pipelines)

    def run(self, job: dict[str, Any]) -> tuple[Any, ...]:
        job_id = job["id"]
        args = job.get("args") or {}
        target = job["target"]
        self._refresh_code()
        output.retag(output.job_tag(job_id))
        job_api._enter(
            job_api.JobInfo(job_id, int(job.get("attempt") or 1), int(job.get("maxAttempts") or 1), target),
            lambda i, rows, size: self._conn.send(("progress", i, rows, size)),
        )
        try:
            with self._spans.current(job.get("spanParent")):
                if "notebook" in args:
                    return self._notebook(job)
                return self._function(args)
        except JobRefused as e:
            return ("failed", {"code": e.code, "message": scrub(e.message)}, False)
        except BaseException as e:  # noqa: BLE001 (SystemExit from a pipeline must not end the worker)
            return ("failed", _python_error(e), True)
        finally:
            job_api._enter(None, None)
            sys.stdout.flush()
            sys.stderr.flush()
            output.retag(output.RUNNER_TAG)
            self._spans.flush_if_any()

    def _function(self, args: dict[str, Any]) -> tuple[Any, ...]:
        entrypoint = args.get("entrypoint")
        function = entrypoints.function(entrypoint, self._pipelines)
        parameters = entrypoints.bind(function, entrypoint, args.get("parameters"))
        value = function(**parameters)
        return ("succeeded", to_json(value, entrypoint))

    def _notebook(self, job: dict[str, Any]) -> tuple[Any, ...]:
        from . import notebooks

        job_id, args = job["id"], job.get("args") or {}
        file = entrypoints.notebook(args.get("notebook"), self._pipelines)
        try:
            result = notebooks.execute(
                file,
                args.get("parameters"),
                pipelines_root=self._pipelines.parent,
                traceparent=job.get("spanParent"),
                on_kernel=lambda pid: (_kernels.add(pid), self._conn.send(("kernel", job_id, pid))),
            )
        except notebooks.NotebookFailed as e:
            error = {"code": "python_error", "type": e.type_name, "message": scrub(e.message), "traceback": scrub(e.traceback)}
            return ("failed", error, True)
        finally:
            _kernels.clear()  # nbclient shut the kernel down
        return ("succeeded", to_json(result, args.get("notebook")))

    def _refresh_code(self) -> None:
        """Forget the pipelines modules when a file of the folder changed since they were imported."""
        version = _code_version(self._pipelines)
        if version == self._code_version:
            return
        self._code_version = version
        for name in [n for n in sys.modules if n == entrypoints.PACKAGE or n.startswith(entrypoints.PACKAGE + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        linecache.checkcache()


def to_json(value: Any, target: Any) -> str:
    """The job's result as JSON text; NumPy scalars become numbers, anything else not JSON refuses the result."""
    try:
        return json.dumps(value, allow_nan=False, default=_plain, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise JobRefused(
            "result_not_json",
            f"{target} returned a value that is not JSON ({e}): return None, a str, number, bool, list or dict of them",
        ) from None


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    if type(value).__module__ == "numpy" and callable(item):
        return item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _python_error(error: BaseException) -> dict[str, Any]:
    """The exception as the failure report carries it, secrets masked; the frames of the runner itself left out."""
    frames = traceback.extract_tb(error.__traceback__)
    own = os.path.dirname(__file__)
    frames = [f for f in frames if os.path.dirname(f.filename) != own and not f.filename.startswith("<frozen importlib")]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames), *traceback.format_exception_only(type(error), error)]
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    return {"code": "python_error", "type": name, "message": scrub(str(error)), "traceback": scrub("".join(lines))}


def _code_version(folder: pathlib.Path) -> tuple[Any, ...]:
    """What changes when any .py file of the package is edited, added or removed (names, sizes, times)."""
    entries = []
    stack = [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.name.startswith((".", "__pycache__")):
                        continue
                    if entry.is_dir():
                        stack.append(entry.path)
                    elif entry.name.endswith(".py"):
                        st = entry.stat()
                        entries.append((entry.path, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            continue
    return tuple(sorted(entries))


_kernels: set[int] = set()  # the notebook kernels this worker started and has not seen end


def _exit_with_runner(runner_pid: int) -> None:
    """End this worker, and its notebook kernel, the moment the runner's main process is gone (a SIGKILL, a crash):
    a job of a dead runner runs again elsewhere, so this copy must not go on writing. Neither the worker's own parent
    (the fork server, which the workers themselves keep alive) nor the connection (read only between jobs) says so
    in time: a thread waits on the runner's process (a pidfd; where there is none, it asks every second)."""
    try:
        handle: int | None = os.pidfd_open(runner_pid)
    except (AttributeError, OSError):
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(runner_pid):
                time.sleep(1.0)
        for kernel in list(_kernels):
            try:
                os.killpg(kernel, signal.SIGKILL)
            except OSError:
                pass
        os._exit(1)

    threading.Thread(target=watch, name="datastack-runner-lifeline", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
