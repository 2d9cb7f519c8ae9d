"""The runner: runs the team's ``pipelines`` as Processing's ``python`` jobs (``python -m datastack.runner``).

Inside a job, a pipeline may ask which job it is and report how far it got (the heartbeat carries it to the job's
``progress``, which ``client.wait()`` shows)::

    from datastack import runner

    runner.current_job()          # JobInfo(id=..., attempt=1, max_attempts=3, target='pipelines.daily:summary'), None outside a job
    runner.progress(rows=10_000)  # rows and/or bytes done so far

Settings, protocol and behaviour: Jupyter/datastack/README.md ("The runner") and docs/runners.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

__all__ = ["JobInfo", "current_job", "progress"]


@dataclass(frozen=True)
class JobInfo:
    """The job a pipeline runs as. ``attempt`` counts from 1; a job runs again after a failure while attempts remain,
    and may run again after a runner died (jobs are at least once)."""

    id: str
    attempt: int
    max_attempts: int
    target: str


_current: JobInfo | None = None
_report: Callable[[str, int | None, int | None], None] | None = None
_lock = threading.Lock()


def current_job() -> JobInfo | None:
    """The job this code runs as, or None outside the runner."""
    return _current


def progress(rows: int | None = None, bytes: int | None = None) -> None:  # noqa: A002 (the protocol's name)
    """Report how many rows and/or bytes the job has done so far; sent with the next heartbeat. No-op outside a job."""
    job, report = _current, _report
    if job is None or report is None:
        return
    with _lock:
        report(job.id, None if rows is None else int(rows), None if bytes is None else int(bytes))


def _enter(job: JobInfo | None, report: Callable[[str, int | None, int | None], None] | None) -> None:
    """Set by the worker process around each job."""
    global _current, _report
    _current, _report = job, report
