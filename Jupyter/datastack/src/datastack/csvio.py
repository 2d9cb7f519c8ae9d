"""DataFrame -> CSV in the dialect Processing infers types from, produced in chunks.

Rules (they match Processing's ingest inference):
- no index; header row unless ``header=False``; ``\\n`` line ends; RFC 4180 quoting;
- booleans as ``true`` / ``false``;
- missing values (NaN, None, NaT, pd.NA) as an empty field (= NULL);
- datetimes as ISO 8601: naive ``2024-01-05T08:13:00``, tz-aware with the offset ``2024-01-05T08:13:00+01:00``;
  fractional seconds only when present; dates as ``2024-01-05``;
- floats round-trip (``repr``), infinities as ``Infinity`` / ``-Infinity``.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Iterator

import numpy as np
import pandas as pd

DEFAULT_CHUNK_ROWS = 50_000

_ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"
_ISO_MICROS = "%Y-%m-%dT%H:%M:%S.%f"


def iter_csv_chunks(
    frame: pd.DataFrame,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    header: bool = True,
    delimiter: str = ",",
) -> Iterator[bytes]:
    """Yield the frame as UTF-8 CSV, ``chunk_rows`` rows at a time (the header goes with the first chunk).

    Only one formatted slice exists at a time, so memory stays proportional to ``chunk_rows``.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise ValueError(f"duplicate column names: {', '.join(dupes)}")
    total = len(frame)
    if total == 0:
        if header:
            yield _to_csv(pd.DataFrame(columns=columns), True, delimiter)
        return
    for start in range(0, total, chunk_rows):
        part = frame.iloc[start : start + chunk_rows]
        yield _to_csv(format_frame(part), header and start == 0, delimiter)


def frame_to_csv(frame: pd.DataFrame, header: bool = True, delimiter: str = ",") -> str:
    """The whole frame as one CSV string (tests and small frames)."""
    return b"".join(iter_csv_chunks(frame, header=header, delimiter=delimiter)).decode("utf-8")


def format_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a frame of strings (or None for NULL) ready for ``to_csv``."""
    out = {}
    for position, name in enumerate(frame.columns):
        out[str(name)] = format_series(frame.iloc[:, position])
    return pd.DataFrame(out, index=frame.index)


def format_series(s: pd.Series) -> pd.Series:
    """Format one column; the result holds str values and None for missing."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        # bool and the nullable 'boolean' dtype.
        return _objects(s).map(_format_bool, na_action="ignore")
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _format_datetimes(s, aware=True)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _format_datetimes(s, aware=False)
    if pd.api.types.is_integer_dtype(dtype):
        # int64 and nullable Int64: plain digits, NA -> None.
        return _objects(s).map(_format_int, na_action="ignore")
    if pd.api.types.is_float_dtype(dtype):
        return _objects(s).map(_format_float, na_action="ignore")
    if isinstance(dtype, pd.CategoricalDtype):
        return format_series(s.astype(s.cat.categories.dtype if len(s.cat.categories) else object))
    if pd.api.types.is_timedelta64_dtype(dtype):
        return _objects(s).map(str, na_action="ignore")
    # object / string dtypes: inspect what is inside.
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty"):
        return _objects(s)
    return s.astype(object).map(format_value)


def format_value(value: Any) -> str | None:
    """Format a single Python / NumPy value the way the column formatters do."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return _format_bool(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return _format_float(float(value))
    if isinstance(value, pd.Timestamp):
        return _iso(value.to_pydatetime(warn=False)) if value.nanosecond == 0 else value.isoformat()
    if isinstance(value, _dt.datetime):
        return _iso(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return format_value(pd.Timestamp(value))
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _objects(s: pd.Series) -> pd.Series:
    """The column as Python objects with every missing marker replaced by None."""
    values = s.astype(object)
    return values.where(s.notna(), None)


def _format_bool(value: Any) -> str:
    return "true" if value else "false"


def _format_int(value: Any) -> str:
    return str(int(value))


def _format_float(value: Any) -> str | None:
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _iso(value: _dt.datetime) -> str:
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text


def _format_datetimes(s: pd.Series, aware: bool) -> pd.Series:
    missing = s.isna()
    present = s[~missing]
    has_fraction = bool(len(present)) and bool((present.dt.microsecond != 0).any() or (present.dt.nanosecond != 0).any())
    if bool(len(present)) and bool((present.dt.nanosecond != 0).any()):
        # Sub-microsecond values: let pandas write all nine digits.
        text = s.map(lambda v: v.isoformat(), na_action="ignore")
    elif not aware:
        # NumPy's ISO 8601 writer is C code, ~10x faster than strftime, and writes the same text
        # (seconds, or always six fraction digits when any value has a fraction). NaT is masked below.
        unit = "datetime64[us]" if has_fraction else "datetime64[s]"
        text = pd.Series(np.datetime_as_string(s.to_numpy().astype(unit)), index=s.index, dtype=object)
    else:
        text = s.dt.strftime(_ISO_MICROS if has_fraction else _ISO_SECONDS)
        if aware:
            offsets = s.dt.strftime("%z")
            text = text + offsets.str.slice(0, 3) + ":" + offsets.str.slice(3, 5)
    return text.astype(object).where(~missing, None)


def _to_csv(frame: pd.DataFrame, header: bool, delimiter: str) -> bytes:
    text = frame.to_csv(index=False, header=header, sep=delimiter, na_rep="", lineterminator="\n")
    return text.encode("utf-8")
