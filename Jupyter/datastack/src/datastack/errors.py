"""Exceptions raised by datastack. Every message says what is wrong and what to do; none contains a secret."""

from __future__ import annotations

from typing import Any


class DataStackError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(DataStackError):
    """A required setting is missing or malformed; the message names the environment variable."""


class ProcessingUnreachable(DataStackError):
    """The Processing service could not be reached (refused, DNS, timeout, TLS)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot reach Processing at {url}: {reason}")


class ProcessingError(DataStackError):
    """Processing answered with an error status; carries its problem details."""

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        errors: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or {}
        parts = [f"Processing answered {status} to {method} {path}"]
        if title:
            parts.append(f": {title}")
        if detail and detail != title:
            parts.append(f" — {detail}")
        for field, messages in self.errors.items():
            text = "; ".join(messages) if isinstance(messages, list) else str(messages)
            parts.append(f"\n  {field}: {text}")
        if hint:
            parts.append(f"\n  ({hint})")
        super().__init__("".join(parts))


class AuthenticationError(ProcessingError):
    """Processing refused the API key (401) or its permissions (403)."""


class NotFoundError(ProcessingError):
    """Processing has no such dataset or job (404)."""


class ConflictError(ProcessingError):
    """The request conflicts with the current state, e.g. mode='fail' on an existing dataset (409)."""


class JobFailed(DataStackError):
    """A Processing job ended as failed or cancelled; carries the job and where the data went wrong, or for a python
    job the exception's ``type`` and ``traceback`` in the runner (secrets masked there)."""

    def __init__(self, job: Any, column_names: list[str] | None = None) -> None:
        self.job = job
        error = job.error or {}
        self.code = error.get("code")
        self.row = error.get("row")
        self.column = error.get("column")
        self.type = error.get("type")
        self.traceback = error.get("traceback")
        self.column_name: str | None = None
        if isinstance(self.column, int) and column_names and 1 <= self.column <= len(column_names):
            self.column_name = column_names[self.column - 1]
        self.reason = error.get("message") or job.status
        if self.type:
            self.reason = f"{self.type}: {self.reason}"
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}" + (f" ({self.column_name})" if self.column_name else ""))
        at = f" at {', '.join(where)}" if where else ""
        code = f" [{self.code}]" if self.code else ""
        remote = f"\n\nIn the runner, attempt {job.attempts}:\n{self.traceback.rstrip()}" if self.traceback else ""
        super().__init__(f"{job.kind} job {job.id} {job.status}{at}{code}: {self.reason}{remote}")


class JobTimeout(DataStackError):
    """The caller's timeout elapsed while the job was still queued or running."""

    def __init__(self, job: Any, timeout: float) -> None:
        self.job = job
        super().__init__(
            f"{job.kind} job {job.id} still {job.status} after {timeout:g} s; "
            f"it keeps running: client.wait({job.id!r}) or client.cancel({job.id!r})"
        )
