"""The runner's worker processes, one per slot: started warm from a fork server, killed to stop a job.

The fork server (``multiprocessing``'s ``forkserver``) imports ``datastack.runner.worker`` (pandas, datastack,
psycopg, requests) once; every worker is a fork of it, so a replacement after a kill is ready in milliseconds and
the runner's own threads are never forked. A worker's kernels (notebook jobs) run in sessions of their own: they are
killed with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from typing import Any

_log = logging.getLogger("datastack.runner")

WORKER_MODULE = "datastack.runner.worker"


def context() -> Any:
    """The multiprocessing context of the workers (call once, before the first worker starts)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([WORKER_MODULE])
    return ctx


class Slot:
    """One worker process and the job it runs, if any."""

    def __init__(self, ctx: Any, index: int, pipelines: str, log_level: str) -> None:
        self.index = index
        self._ctx = ctx
        self._pipelines = pipelines
        self._log_level = log_level
        self.process: Any = None
        self.conn: Any = None
        self.job: Any = None  # the Held job running here
        self.ready = False
        self.kernels: list[int] = []

    @property
    def idle(self) -> bool:
        return self.ready and self.job is None

    def start(self) -> None:
        from .worker import serve

        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=serve, args=(child, self._pipelines, self._log_level, os.getpid()), name=f"datastack-runner-worker-{self.index}", daemon=True)
        process.start()
        child.close()
        self.process, self.conn, self.ready, self.job, self.kernels = process, parent, False, None, []

    def run(self, job: dict[str, Any]) -> None:
        self.conn.send(("run", job))

    def kill(self) -> None:
        """Kill the worker and its notebook kernels at once; a new one takes the slot (``start()``)."""
        for pid in self.kernels:
            try:
                os.killpg(pid, signal.SIGKILL)  # a kernel is the leader of its own session
            except OSError:
                pass
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        self.close()

    def stop(self, timeout: float) -> None:
        """Ask an idle worker to end (it flushes its spans), killing it after ``timeout``."""
        if self.process is None:
            return
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.process.join(timeout)
        self.kill()

    def close(self) -> None:
        if self.process is not None:
            self.process.join(1.0)
            if self.conn is not None:
                self.conn.close()
        self.process = self.conn = None
        self.ready = False
        self.kernels = []

    def exit_description(self) -> str:
        code = self.process.exitcode if self.process is not None else None
        if code is None:
            return "ended"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            hint = " (the kernel's out-of-memory killer, or someone's kill -9)" if -code == signal.SIGKILL else ""
            return f"was killed by {name}{hint}"
        return f"exited with code {code}"
