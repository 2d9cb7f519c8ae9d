"""Values as text, the way Processing's CSV inference reads them.

``upload(DataFrame)`` sends most columns as binary values (see :mod:`datastack.columns`); the columns it
sends as text because they have no single type (object columns of mixed values, timedeltas) are written
with these rules:

- missing values (None, NaN, NaT, pd.NA) are NULL (``None`` here);
- booleans as ``true`` / ``false``; integers as digits;
- floats round-trip (``repr``), infinities as ``Infinity`` / ``-Infinity``;
- datetimes as ISO 8601: naive ``2024-01-05T08:13:00``, tz-aware with the offset ``2024-01-05T08:13:00+01:00``;
  fractional seconds only when present; dates as ``2024-01-05``;
- anything else as ``str(value)`` (bytes decoded as UTF-8).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd


def format_series(s: pd.Series) -> pd.Series:
    """Each value of ``s`` as :func:`format_value` writes it (str, or None for missing)."""
    return s.astype(object).map(format_value)


def format_value(value: Any) -> str | None:
    """One Python / NumPy / pandas value as text; None when it is missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
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


def _format_float(value: float) -> str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _iso(value: _dt.datetime) -> str:
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
