"""The client's job methods: list, inspect, wait for and cancel jobs, and run the team's Python as jobs."""

from __future__ import annotations

import json
import math
import time
from typing import Any, Callable

import requests

from .errors import DataStackError, JobFailed, JobTimeout
from .models import Job
from .processing_http import REQUEST_TIMEOUT, items
from .progress import advance, progress_bar

WAIT_SLICE = 30
NOTEBOOK_MEDIA_TYPE = "application/x-ipynb+json"


class JobMethods:
    """Mixed into :class:`datastack.Client`; every call goes through its ``_request``."""

    progress: bool
    _request: Callable[..., requests.Response]

    def jobs(self, status: str | None = None, limit: int = 50) -> list[Job]:
        """Recent jobs, newest first as the server orders them; optionally only one status."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return [Job.from_json(j) for j in items(self._request("GET", "/jobs", params=params).json())]

    def job(self, job_id: str) -> Job:
        return Job.from_json(self._request("GET", f"/jobs/{job_id}").json())

    def cancel(self, job_id: str) -> Job:
        return Job.from_json(self._request("POST", f"/jobs/{job_id}/cancel").json())

    def wait(
        self,
        job: Job | str,
        *,
        timeout: float | None = None,
        progress: bool | None = None,
        desc: str | None = None,
        total: int | None = None,
    ) -> Job:
        """Block until the job is terminal (server-side long poll, no busy loop); raise JobFailed unless it succeeded."""
        current = job if isinstance(job, Job) else self.job(job)
        show = self.progress if progress is None else progress
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = None if current.done else progress_bar(show, desc=desc or f"{current.kind} {current.id}", total=total, unit=" rows")
        try:
            advance(bar, current)
            while not current.done:
                if deadline is None:
                    slice_s = WAIT_SLICE
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise JobTimeout(current, timeout or 0)
                    slice_s = max(1, min(WAIT_SLICE, math.ceil(remaining)))
                response = self._request(
                    "GET",
                    f"/jobs/{current.id}/wait",
                    params={"timeout": slice_s},
                    timeout=(REQUEST_TIMEOUT[0], slice_s + 30),
                )
                current = Job.from_json(response.json())
                advance(bar, current)
        finally:
            if bar is not None:
                bar.close()
        if current.status != "succeeded":
            raise JobFailed(current)
        return current

    # ------------------------------------------------------------------ python jobs

    def run(
        self,
        entrypoint: str,
        /,
        *,
        parameters: dict[str, Any] | None = None,
        timeout: float | None = None,
        job_timeout: int | None = None,
        wait: bool = True,
        progress: bool | None = None,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run a function of the team's ``pipelines`` package as a job in a runner and return what it returned.

        ``client.run("pipelines.daily:summary", day="2024-01-05")``: keyword arguments are the function's parameters
        (JSON values); a parameter named like one of this method's options goes in ``parameters={...}``. ``timeout``
        is how long this call waits (the job keeps running after it: :class:`JobTimeout`), ``job_timeout`` the seconds
        one attempt may run in the runner (default: Processing's ``PythonJobTimeoutSeconds``). ``wait=False``
        returns the queued :class:`Job` at once. A failure raises :class:`JobFailed` with the Python exception's
        type, message and traceback.
        """
        args = {"entrypoint": entrypoint, "parameters": _parameters(parameters, kwargs)}
        job = self._run_python(args, job_timeout, idempotency_key, wait, timeout, progress)
        return job.result if wait else job

    def run_notebook(
        self,
        path: str,
        parameters: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        job_timeout: int | None = None,
        wait: bool = True,
        progress: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Run a notebook of the ``pipelines`` folder as a job and return the executed notebook (an nbformat node).

        ``client.run_notebook("pipelines/report.ipynb", parameters={"day": "2024-01-05"})``: the parameters go into a
        cell after the one tagged ``parameters`` (papermill's convention). Options as for :meth:`run`.
        """
        args = {"notebook": path, "parameters": _parameters(parameters, {})}
        job = self._run_python(args, job_timeout, idempotency_key, wait, timeout, progress)
        return self.notebook(job) if wait else job

    def notebook(self, job: Job | str) -> Any:
        """The executed notebook of a notebook job that succeeded (``GET /jobs/{id}/notebook``), as an nbformat node."""
        try:
            import nbformat
        except ImportError:
            raise DataStackError("nbformat is not installed (pip install nbformat; Debian: apt-get install python3-nbformat)") from None
        job_id = job.id if isinstance(job, Job) else job
        response = self._request("GET", f"/jobs/{job_id}/notebook", headers={"Accept": NOTEBOOK_MEDIA_TYPE})
        # JSON is UTF-8 (RFC 8259); the media type has no charset, so requests would guess one.
        return nbformat.reads(response.content.decode("utf-8"), as_version=4)

    def _run_python(
        self, args: dict[str, Any], job_timeout: int | None, idempotency_key: str | None, wait: bool, timeout: float | None, progress: bool | None
    ) -> Job:
        """Queue a python job; with ``wait``, the job once it succeeded (JobFailed, JobTimeout otherwise)."""
        if job_timeout is not None:
            args["timeoutSeconds"] = int(job_timeout)
        body: dict[str, Any] = {"kind": "python", "args": args}
        if idempotency_key is not None:
            body["idempotencyKey"] = idempotency_key
        job = Job.from_json(self._request("POST", "/jobs", json=body).json())
        target = args.get("entrypoint") or args.get("notebook")
        return self.wait(job, timeout=timeout, progress=progress, desc=f"run {target}") if wait else job


def _parameters(parameters: dict[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """One dict of JSON values from ``parameters=`` and keyword arguments; a clear error for anything else."""
    if parameters is not None and not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict of names and JSON values, not {type(parameters).__name__}")
    merged = dict(parameters or {})
    twice = sorted(set(merged) & set(kwargs))
    if twice:
        raise ValueError(f"parameter(s) {', '.join(twice)} given both as keywords and in parameters=")
    merged.update(kwargs)
    for name, value in merged.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            hint = "; pass value.isoformat()" if hasattr(value, "isoformat") else ""
            raise TypeError(f"parameter {name!r} is not a JSON value ({e}){hint}") from None
    return merged
