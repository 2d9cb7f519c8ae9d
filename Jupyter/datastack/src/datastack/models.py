"""Typed views of Processing's JSON (camelCase on the wire, snake_case here). ``raw`` keeps the original."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: str
    attempts: int = 0
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    rows: int | None = None
    bytes: int | None = None
    result: Any = None
    error: dict[str, Any] | None = None
    trace_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Job":
        progress = data.get("progress") or {}
        return cls(
            id=str(data.get("id")),
            kind=str(data.get("kind") or "job"),
            status=str(data.get("status") or "unknown"),
            attempts=int(data.get("attempts") or 0),
            created_at=data.get("createdAt"),
            started_at=data.get("startedAt"),
            finished_at=data.get("finishedAt"),
            rows=progress.get("rows"),
            bytes=progress.get("bytes"),
            result=data.get("result"),
            error=data.get("error"),
            trace_id=data.get("traceId"),
            raw=data,
        )


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[Column, ...] = ()
    row_count: int | None = None
    source: str | None = None
    checksum: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    profile: dict[str, Any] | None = field(default=None, repr=False)
    job_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def table(self) -> str:
        """The qualified, quoted PostgreSQL table name, for sql()."""
        return f'datasets."{self.name}"'

    @property
    def dtypes(self) -> dict[str, str]:
        """Column name -> PostgreSQL type."""
        return {c.name: c.type for c in self.columns}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Dataset":
        columns = tuple(Column(str(c.get("name")), str(c.get("type"))) for c in data.get("columns") or [])
        job_id = data.get("jobId")
        return cls(
            name=str(data.get("name")),
            columns=columns,
            row_count=data.get("rowCount"),
            source=data.get("source"),
            checksum=data.get("checksum"),
            created_at=data.get("createdAt"),
            updated_at=data.get("updatedAt"),
            profile=data.get("profile"),
            job_id=None if job_id is None else str(job_id),
            raw=data,
        )

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(f"<tr><td>{escape(c.name)}</td><td>{escape(c.type)}</td></tr>" for c in self.columns)
        count = "?" if self.row_count is None else f"{self.row_count:,}"
        return (
            f"<div><b>dataset {escape(self.name)}</b> — {count} rows, table <code>{escape(self.table)}</code>"
            f"<table><thead><tr><th>column</th><th>type</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
