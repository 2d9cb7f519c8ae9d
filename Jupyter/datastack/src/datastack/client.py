"""The DataStack client: Processing over HTTP for writes and jobs, PostgreSQL directly for reads."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any, Iterable, Iterator

import pandas as pd
import requests

from . import columns, config, redaction, tracing
from .errors import (
    ConfigurationError,
    ConflictError,
    DataStackError,
    JobFailed,
    NotFoundError,
)
from .frames import frame_from_rows, profile_frame
from .jobs import JobMethods
from .models import Dataset, Job
from .processing_http import ProcessingHttp, items, repeated
from .progress import counting, progress_bar

DATASET_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MODES = ("fail", "replace", "append")
FILE_BLOCK = 1024 * 1024
UPLOAD_TIMEOUT = (10.0, 600.0)
# Unqualified names in sql() resolve in schema `datasets` first, then `public` (libpq startup option).
SEARCH_PATH_OPTION = "-c search_path=datasets,public"


class Client(JobMethods):
    """One connection to DataStack. Create it with :func:`datastack.connect`.

    ``progress`` turns the tqdm bars on or off (default: on).
    """

    def __init__(self, settings: config.Settings, *, progress: bool = True) -> None:
        self._settings = settings
        # Whatever the key and password came from, they are masked in cell spans from now on.
        redaction.register(settings.api_key)
        redaction.register(settings.postgres.password if settings.postgres is not None else None)
        self.progress = progress
        self._processing = ProcessingHttp(settings)
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
        self._processing.close()
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
            frame = data

            def make_body() -> Iterable[bytes]:
                return columns.iter_column_chunks(frame, chunk_rows=chunk_rows)

            content_type = columns.CONTENT_TYPE
            params = {"mode": mode}
            size = None
        elif isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no such file: {path}")
            total_rows = None
            size = os.path.getsize(path)

            def make_body() -> Iterable[bytes]:
                return _read_blocks(path)

            content_type = "text/csv"
            params = {"mode": mode, "delimiter": delimiter, "header": "true" if header else "false"}
        else:
            raise TypeError(f"upload() takes a pandas DataFrame or a path to a CSV file, not {type(data).__name__}")

        # A DataFrame's types are decided (and refused, naming the column) here, before anything is sent.
        first_body = make_body()

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

        # One key per call: if the connection drops after the server queued the job, sending the body again gets
        # the same job back instead of a second ingest.
        headers = {"Content-Type": content_type, "Idempotency-Key": f"upload-{uuid.uuid4()}"}

        def send(attempt: int) -> requests.Response:
            body = first_body if attempt == 1 else make_body()
            bar = progress_bar(show, desc=f"upload {name}", total=size, unit="B", unit_scale=True, unit_divisor=1024)
            try:
                if bar is not None:
                    body = counting(body, bar.update)
                return self._processing.request_once("PUT", f"/datasets/{name}", params=params, data=body, headers=headers, timeout=UPLOAD_TIMEOUT)
            finally:
                if bar is not None:
                    bar.close()

        response = repeated(f"upload {name}", send)
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
        return [Dataset.from_json(d) for d in items(self._request("GET", "/datasets").json())]

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

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._processing.request(method, path, **kwargs)


# ---------------------------------------------------------------------- helpers


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not DATASET_NAME.match(name):
        raise ValueError(f"invalid dataset name {name!r}: use lower-case letters, digits and _, starting with a letter or _, at most 63 characters")


def _read_blocks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            block = f.read(FILE_BLOCK)
            if not block:
                return
            yield block
