"""The DataStack client: Processing over HTTP for writes and jobs, PostgreSQL directly for reads."""

from __future__ import annotations

import math
import os
import re
import time
import uuid
from typing import Any, Callable, Iterable, Iterator

import pandas as pd
import requests

from . import columns, config, redaction, tracing
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DataStackError,
    JobFailed,
    JobTimeout,
    NotFoundError,
    ProcessingError,
    ProcessingUnreachable,
)
from .models import Dataset, Job

DATASET_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MODES = ("fail", "replace", "append")
FILE_BLOCK = 1024 * 1024
# (connect, read) seconds for ordinary calls; uploads and waits set their own read timeout.
REQUEST_TIMEOUT = (10.0, 60.0)
UPLOAD_TIMEOUT = (10.0, 600.0)
WAIT_SLICE = 30
# Unqualified names in sql() resolve in schema `datasets` first, then `public` (libpq startup option).
SEARCH_PATH_OPTION = "-c search_path=datasets,public"


class Client:
    """One connection to DataStack. Create it with :func:`datastack.connect`.

    ``progress`` turns the tqdm bars on or off (default: on).
    """

    def __init__(self, settings: config.Settings, *, progress: bool = True) -> None:
        self._settings = settings
        # Whatever the key and password came from, they are masked in cell spans from now on.
        redaction.register(settings.api_key)
        redaction.register(settings.postgres.password if settings.postgres is not None else None)
        self.progress = progress
        self._http = requests.Session()
        self._http.headers["User-Agent"] = "datastack-python/0.1"
        if settings.api_key:
            self._http.headers["Authorization"] = f"Bearer {settings.api_key}"
        self._pg: Any = None

    # ------------------------------------------------------------------ basics

    @property
    def processing_url(self) -> str | None:
        return self._settings.processing_url

    @property
    def postgres(self) -> config.PostgresSettings | None:
        return self._settings.postgres

    def __repr__(self) -> str:
        pg = self._settings.postgres.display() if self._settings.postgres else None
        key = "set" if self._settings.api_key else "not set"
        return f"<datastack.Client processing={self._settings.processing_url!r} analytics={pg!r} api_key={key}>"

    __str__ = __repr__

    def close(self) -> None:
        """Close the HTTP session and the database connection."""
        self._http.close()
        if self._pg is not None:
            self._pg.close()
            self._pg = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ datasets

    def upload(
        self,
        data: pd.DataFrame | str | os.PathLike[str],
        name: str,
        mode: str = "fail",
        *,
        delimiter: str = ",",
        header: bool = True,
        chunk_rows: int = columns.DEFAULT_CHUNK_ROWS,
        timeout: float | None = None,
        progress: bool | None = None,
    ) -> Dataset:
        """Stream a DataFrame or a CSV file to Processing as dataset ``name`` and wait for the ingest job.

        ``mode``: ``fail`` (default; error if the dataset exists), ``replace`` (atomic) or ``append``.
        A DataFrame is sent as its columns' binary values, ``chunk_rows`` rows at a time, and its table gets
        the types of its dtypes (docs/columns-format.md; int64 → bigint, float → double precision, …).
        A CSV file is sent block by block (``delimiter``, ``header``) and Processing infers its types.
        Raises :class:`JobFailed` (with row and column) if the server rejects the data.
        """
        _check_name(name)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
        show = self.progress if progress is None else progress
        if isinstance(data, pd.DataFrame):
            total_rows: int | None = len(data)
            # Types are decided (and refused, naming the column) here, before anything is sent.
            body: Iterable[bytes] = columns.iter_column_chunks(data, chunk_rows=chunk_rows)
            content_type = columns.CONTENT_TYPE
            params = {"mode": mode}
            size = None
        elif isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no such file: {path}")
            total_rows = None
            size = os.path.getsize(path)
            body = _read_blocks(path)
            content_type = "text/csv"
            params = {"mode": mode, "delimiter": delimiter, "header": "true" if header else "false"}
        else:
            raise TypeError(f"upload() takes a pandas DataFrame or a path to a CSV file, not {type(data).__name__}")

        # A cheap authenticated call first: a wrong key or an existing dataset (mode='fail') is reported
        # before any data is sent, rather than as a broken pipe halfway through a large body.
        existing = self._get_dataset_or_none(name)
        if existing is not None and mode == "fail":
            raise ConflictError(
                "PUT",
                f"/datasets/{name}",
                409,
                "Dataset already exists",
                f"dataset '{name}' exists ({existing.row_count} rows); pass mode='replace' or mode='append'",
            )

        bar = _progress_bar(show, desc=f"upload {name}", total=size, unit="B", unit_scale=True, unit_divisor=1024)
        try:
            if bar is not None:
                body = _counting(body, bar.update)
            response = self._request(
                "PUT",
                f"/datasets/{name}",
                params=params,
                data=body,
                # One key per call: if the connection drops after the server queued the job, a retry of
                # this request gets the same job back instead of a second ingest.
                headers={"Content-Type": content_type, "Idempotency-Key": f"upload-{uuid.uuid4()}"},
                timeout=UPLOAD_TIMEOUT,
            )
        finally:
            if bar is not None:
                bar.close()
        job = Job.from_json(response.json())
        try:
            self.wait(job, timeout=timeout, progress=show, desc=f"ingest {name}", total=total_rows)
        except JobFailed as e:
            if isinstance(data, pd.DataFrame):
                # The server reports a 1-based column number; name it for the reader.
                raise JobFailed(e.job, [str(c) for c in data.columns]) from None
            raise
        return self.dataset(name)

    def ingest(
        self,
        path: str,
        name: str,
        mode: str = "fail",
        *,
        delimiter: str = ",",
        header: bool = True,
        timeout: float | None = None,
        progress: bool | None = None,
    ) -> Dataset:
        """Ingest a file that is already in the shared data folder (``path`` relative to it) as ``name``."""
        _check_name(name)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
        response = self._request(
            "POST",
            f"/datasets/{name}/ingest",
            json={"path": path, "mode": mode, "delimiter": delimiter, "header": header},
        )
        self.wait(Job.from_json(response.json()), timeout=timeout, progress=progress, desc=f"ingest {name}")
        return self.dataset(name)

    def dataset(self, name: str) -> Dataset:
        """The catalog entry of one dataset: columns and types, row count, source, profile."""
        _check_name(name)
        return Dataset.from_json(self._request("GET", f"/datasets/{name}").json())

    def datasets(self) -> list[Dataset]:
        """Every dataset in the catalog."""
        return [Dataset.from_json(d) for d in _items(self._request("GET", "/datasets").json())]

    def delete(self, name: str) -> None:
        """Drop a dataset and its table."""
        _check_name(name)
        self._request("DELETE", f"/datasets/{name}")

    def profile(self, name: str, *, timeout: float | None = None, progress: bool | None = None) -> pd.DataFrame:
        """Compute column statistics on the server; one row per column (``attrs`` has row_count, computed_at)."""
        _check_name(name)
        response = self._request("POST", f"/datasets/{name}/profile")
        self.wait(Job.from_json(response.json()), timeout=timeout, progress=progress, desc=f"profile {name}")
        return profile_frame(self.dataset(name).profile)

    def transform(self, name: str, query: str, *, timeout: float | None = None, progress: bool | None = None) -> Dataset:
        """Materialise ``query`` (one read-only SELECT; bare names are datasets, as in sql()) as dataset ``name``."""
        _check_name(name)
        response = self._request("POST", f"/datasets/{name}/transform", json={"query": query})
        self.wait(Job.from_json(response.json()), timeout=timeout, progress=progress, desc=f"transform {name}")
        return self.dataset(name)

    # ------------------------------------------------------------------ jobs

    def jobs(self, status: str | None = None, limit: int = 50) -> list[Job]:
        """Recent jobs, newest first as the server orders them; optionally only one status."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return [Job.from_json(j) for j in _items(self._request("GET", "/jobs", params=params).json())]

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
        bar = None if current.done else _progress_bar(show, desc=desc or f"{current.kind} {current.id}", total=total, unit=" rows")
        try:
            _advance(bar, current)
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
                _advance(bar, current)
        finally:
            if bar is not None:
                bar.close()
        if current.status != "succeeded":
            raise JobFailed(current)
        return current

    # ------------------------------------------------------------------ SQL

    def sql(self, query: str, params: Any = None) -> pd.DataFrame:
        """Run a query on the analytics database and return the rows as a DataFrame.

        Types follow the columns: bigint/int -> int64 (Int64 with NULLs), double -> float64,
        boolean -> bool (``boolean`` with NULLs), timestamp -> datetime64, timestamptz -> datetime64 UTC,
        numeric -> float64, everything else as Python objects. ``params`` uses psycopg placeholders (%s).
        Dataset names need no schema, as in a transform: the connection's ``search_path`` is
        ``datasets, public``, so ``select * from trips`` reads ``datasets.trips``.
        """
        conn = self._connection()
        with conn.cursor() as cur:
            cur.execute(query, params)
            if cur.description is None:
                return pd.DataFrame()
            rows = cur.fetchall()
            return frame_from_rows(cur.description, rows)

    def _connection(self) -> Any:
        if self._settings.postgres is None:
            raise ConfigurationError(config.missing_postgres_message())
        if self._pg is not None and not self._pg.closed and not self._pg.broken:
            return self._pg
        try:
            import psycopg
        except ImportError:
            raise DataStackError("psycopg 3 is not installed (pip install 'psycopg[binary]'; Debian: apt-get install python3-psycopg)") from None
        pg = self._settings.postgres
        kwargs = pg.connect_kwargs()
        kwargs.setdefault("application_name", "datastack-jupyter")
        kwargs.setdefault("connect_timeout", 10)
        # One naming rule everywhere: as in a transform, a bare dataset name means the table in `datasets`.
        kwargs["options"] = SEARCH_PATH_OPTION
        try:
            self._pg = psycopg.connect(autocommit=True, **kwargs)
        except psycopg.OperationalError as e:
            message = str(e).strip()
            if pg.password:
                message = message.replace(pg.password, "***")
            raise DataStackError(f"cannot connect to PostgreSQL at {pg.display()} (from {pg.source}): {message}") from None
        return self._pg

    # ------------------------------------------------------------------ HTTP

    def _get_dataset_or_none(self, name: str) -> Dataset | None:
        # A 404 is an answer here (the dataset is new), so its client span is not marked as an error.
        with tracing.not_found_expected():
            try:
                return self.dataset(name)
            except NotFoundError:
                return None

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> requests.Response:
        base = self._settings.processing_url
        if base is None:
            raise ConfigurationError(config.missing_processing_message())
        url = base + path
        all_headers = {"Accept": "application/json"}
        all_headers.update(headers or {})
        tracing.inject(all_headers)
        try:
            response = self._http.request(method, url, params=params, json=json, data=data, headers=all_headers, timeout=timeout)
        except requests.exceptions.RequestException as e:
            error = ProcessingUnreachable(base, _reason(e, timeout))
            error.original = e  # type: ignore[attr-defined]
            raise error from None
        if response.status_code >= 400:
            raise self._error(method, path, response)
        return response

    def _error(self, method: str, path: str, response: requests.Response) -> ProcessingError:
        title = detail = None
        errors: dict[str, Any] | None = None
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                title = body.get("title")
                detail = body.get("detail")
                errors = body.get("errors") if isinstance(body.get("errors"), dict) else None
        if title is None:
            title = response.reason or None
        if detail is None and "json" not in content_type:
            text = response.text.strip()
            detail = text[:300] if text else None
        status = response.status_code
        if status in (401, 403):
            hint = (
                f"{config.API_KEY} is not set; Processing requires it"
                if not self._settings.api_key
                else f"the key from {config.API_KEY} (or api_key=...) was refused"
            )
            return AuthenticationError(method, path, status, title, detail, errors, hint)
        if status == 404:
            return NotFoundError(method, path, status, title, detail, errors)
        if status == 409:
            return ConflictError(method, path, status, title, detail, errors)
        return ProcessingError(method, path, status, title, detail, errors)


# ---------------------------------------------------------------------- helpers


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not DATASET_NAME.match(name):
        raise ValueError(f"invalid dataset name {name!r}: use lower-case letters, digits and _, starting with a letter or _, at most 63 characters")


def _items(body: Any) -> list[dict[str, Any]]:
    """Accept a bare JSON array or an envelope with 'items'."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("items", "value", "datasets", "jobs"):
            if isinstance(body.get(key), list):
                return body[key]
    raise DataStackError(f"unexpected answer from Processing: {str(body)[:200]}")


def _read_blocks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            block = f.read(FILE_BLOCK)
            if not block:
                return
            yield block


def _counting(chunks: Iterable[bytes], update: Callable[[int], Any]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        update(len(chunk))


def _reason(e: requests.exceptions.RequestException, timeout: tuple[float, float]) -> str:
    text = str(e)
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(e, requests.exceptions.ReadTimeout):
        return f"no answer within {timeout[1]:g} s"
    if "Connection refused" in text or "ECONNREFUSED" in text:
        return "connection refused (is the processing service running?)"
    if "Name or service not known" in text or "nodename nor servname" in text or "NameResolution" in text or "getaddrinfo" in text:
        return "host name not found"
    if "Connection aborted" in text or "Broken pipe" in text or "reset by peer" in text:
        return "the connection was closed while talking to the server"
    if isinstance(e, requests.exceptions.SSLError):
        return "TLS error: " + text[:200]
    return f"{type(e).__name__}: {text[:200]}"


def _progress_bar(show: bool, **kwargs: Any) -> Any:
    """A tqdm bar: the widget flavour in a Jupyter kernel with ipywidgets, the text one elsewhere."""
    if not show:
        return None
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("leave", True)
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and "IPKernelApp" in shell.config:
            import ipywidgets  # noqa: F401  (tqdm.notebook needs it)
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(**kwargs)
    except Exception:
        pass
    from tqdm.std import tqdm as text_tqdm

    return text_tqdm(**kwargs)


def _advance(bar: Any, job: Job) -> None:
    if bar is None:
        return
    if job.rows is not None and job.rows > bar.n:
        bar.update(job.rows - bar.n)
    postfix = {"status": job.status}
    if job.bytes:
        postfix["MB"] = f"{job.bytes / 1e6:.1f}"
    bar.set_postfix(postfix, refresh=False)
    if job.done and bar.total is None:
        bar.total = bar.n
    bar.refresh()


# ---------------------------------------------------------------------- result frames

_INT_OIDS = {20, 21, 23, 26}
_FLOAT_OIDS = {700, 701, 1700}
_BOOL_OID = 16
_TIMESTAMP_OID = 1114
_TIMESTAMPTZ_OID = 1184


def frame_from_rows(description: Any, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Build a DataFrame with dtypes chosen from the PostgreSQL column types (see Client.sql)."""
    names = [d.name for d in description]
    data: dict[int, pd.Series] = {}
    for i, d in enumerate(description):
        values = [row[i] for row in rows]
        data[i] = _column(d.type_code, values)
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    frame.columns = names
    return frame


def _column(oid: int, values: list[Any]) -> pd.Series:
    has_null = any(v is None for v in values)
    try:
        if oid in _INT_OIDS:
            return pd.Series(values, dtype="Int64" if has_null else "int64")
        if oid in _FLOAT_OIDS:
            return pd.Series([None if v is None else float(v) for v in values], dtype="float64")
        if oid == _BOOL_OID:
            return pd.Series(values, dtype="boolean" if has_null else "bool")
        if oid == _TIMESTAMP_OID:
            return pd.Series(pd.to_datetime(values))
        if oid == _TIMESTAMPTZ_OID:
            return pd.Series(pd.to_datetime(values, utc=True))
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        pass  # e.g. dates outside pandas' range: keep the Python objects
    return pd.Series(values, dtype=object)


def profile_frame(profile: dict[str, Any] | None) -> pd.DataFrame:
    """Processing's profile JSON as a DataFrame indexed by column name."""
    if not profile:
        raise DataStackError("the dataset has no profile yet")
    columns = profile.get("columns") or []
    order = ["name", "type", "count", "nulls", "distinct", "min", "max", "mean", "stddev", "top"]
    frame = pd.DataFrame(columns)
    frame = frame[[c for c in order if c in frame.columns] + [c for c in frame.columns if c not in order]]
    if "name" in frame.columns:
        frame = frame.set_index("name")
    frame.attrs["row_count"] = profile.get("rowCount")
    frame.attrs["computed_at"] = profile.get("computedAt")
    return frame
