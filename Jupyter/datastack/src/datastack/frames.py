"""Query results and profiles as DataFrames: dtypes chosen from the PostgreSQL column types."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .errors import DataStackError

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
