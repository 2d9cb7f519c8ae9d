"""DataStack for notebooks.

    import datastack as ds
    client = ds.connect()
    client.upload(df, "events", mode="replace")
    client.sql("select count(*) from events")   # bare names are datasets (search_path)

In IPython, ``%load_ext datastack`` traces every cell and adds the ``%%sql`` magic.
"""

from __future__ import annotations

from typing import Any

from . import config
from .client import Client
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
from .models import Column, Dataset, Job

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "Client",
    "Column",
    "ConfigurationError",
    "ConflictError",
    "DataStackError",
    "Dataset",
    "Job",
    "JobFailed",
    "JobTimeout",
    "NotFoundError",
    "ProcessingError",
    "ProcessingUnreachable",
    "connect",
    "load_ipython_extension",
    "unload_ipython_extension",
]

_default: Client | None = None


def connect(
    analytics: str | None = None,
    processing_url: str | None = None,
    api_key: str | None = None,
    *,
    processing: bool = True,
    database: bool = True,
    progress: bool = True,
) -> Client:
    """Create a client from the wiring contract; explicit arguments override the environment.

    - ``analytics``: ``postgresql://`` URI or Npgsql connection string
      (default ``ANALYTICS_URI``, then ``ConnectionStrings__analytics``);
    - ``processing_url``: default ``PROCESSING_HTTP``, then ``services__processing__http__0``;
    - ``api_key``: default ``DATASTACK_API_KEY`` (``""``: Processing runs without a key).

    Raises :class:`ConfigurationError` at once, listing every setting that is missing. ``processing=False``
    makes a SQL-only client (no Processing URL or key needed), ``database=False`` a Processing-only one.
    The client becomes the one the ``%%sql`` magic uses.
    """
    global _default
    settings = config.resolve(analytics, processing_url, api_key, processing=processing, database=database)
    client = Client(settings, progress=progress)
    _default = client
    return client


def default_client() -> Client:
    """The client from the last connect(), or a new one from the environment."""
    global _default
    if _default is None:
        _default = connect()
    return _default


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext datastack``: cell spans (when OpenTelemetry is installed) and the ``%%sql`` magic."""
    from .extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .extension import unload

    unload(ipython)
