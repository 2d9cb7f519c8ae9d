"""DataFrame -> the binary ``columns`` upload format (docs/columns-format.md), produced in batches.

The frame's columns go out as NumPy buffers with the types their dtypes say, so nothing is formatted as
text that the server would parse back. Each column's type is decided once, before the header is written
(on the whole column; on its first batch for a column of strings, which is text whatever follows); every
batch then encodes ``chunk_rows`` rows of every column with that type.

Where the format document leaves a choice, this encoder:
- rounds nanoseconds to the microsecond half to even, as PostgreSQL's ``rint()`` does for fractional seconds;
- sends ``uint64`` as bigint when the column's largest value fits, and raises ``ValueError`` otherwise;
- sends a column with no values at all (object dtype, every value missing) as text;
- splits a batch into smaller ones when a text block would exceed 256 MiB.
"""

from __future__ import annotations

import datetime as _dt
import json
import struct
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .textformat import format_series

CONTENT_TYPE = "application/vnd.datastack.columns"
MAGIC = b"DSCOLS01"
DEFAULT_CHUNK_ROWS = 100_000
FIRST_BATCH_ROWS = 4_096
MAX_BATCH_ROWS = 1_048_576
MAX_TEXT_BYTES = 256 * 1024 * 1024
END = struct.pack("<I", 0)

BOOLEAN = "boolean"
BIGINT = "bigint"
DOUBLE = "double precision"
DATE = "date"
TIMESTAMP = "timestamp"
TIMESTAMPTZ = "timestamptz"
TEXT = "text"

_INT64_MAX = np.iinfo(np.int64).max
_MICROSECOND = np.timedelta64(1, "us")

# Encodes one chunk of a column: returns its NULL mask (missing values; a float column adds its NaNs) and
# the value buffers, in the order they go on the wire. Given a mask (None: find the missing values), those
# rows are NULL whatever they hold.
Encoder = Callable[[pd.Series, "np.ndarray | None"], tuple[np.ndarray, Sequence[Any]]]


class ColumnPlan(NamedTuple):
    """One column as it is sent: its name, its wire type and the encoder for its chunks."""

    name: str
    type: str
    encode: Encoder


class _TextTooLarge(Exception):
    """A text block of a batch with more than one row is over MAX_TEXT_BYTES; the batch is split."""


def iter_column_chunks(frame: pd.DataFrame, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[bytes]:
    """Yield the frame in the columns format: the header, one batch per ``chunk_rows`` rows, the end marker.

    Only one batch exists at a time, so memory stays proportional to ``chunk_rows``. Type errors found
    while planning (duplicate names, ``uint64`` overflow) raise from this call, before the stream starts; errors in the
    values (a NUL in a string) raise when their batch is encoded, and the stream then has no end marker.
    """
    # Not a generator itself: the checks and the planning run now, when the caller asks for the stream.
    if not 1 <= chunk_rows <= MAX_BATCH_ROWS:
        raise ValueError(f"chunk_rows must be between 1 and {MAX_BATCH_ROWS:,}")
    return _stream(frame, plan_columns(frame), chunk_rows)


def _stream(frame: pd.DataFrame, plans: list[ColumnPlan], chunk_rows: int) -> Iterator[bytes]:
    yield _header(plans)
    series = [frame.iloc[:, position] for position in range(len(plans))]
    for start, stop in batch_bounds(len(frame), chunk_rows):
        yield from _batches(plans, series, start, stop)
    yield END


def batch_bounds(rows: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of each batch: FIRST_BATCH_ROWS rows first, doubling up to ``chunk_rows``.

    Processing starts its COPY with the first batch, so a small one gets the database working at once instead
    of after a whole ``chunk_rows`` batch is encoded (about 10 ms for 100,000 rows); doubling keeps the
    encoding ahead of the database, which takes about four times as long per row.
    """
    start, size = 0, min(chunk_rows, FIRST_BATCH_ROWS)
    while start < rows:
        stop = min(start + size, rows)
        yield start, stop
        start, size = stop, min(size * 2, chunk_rows)


def plan_columns(frame: pd.DataFrame) -> list[ColumnPlan]:
    """Decide each column's wire type and encoder from its dtype (and, for object columns, its values)."""
    names = [str(c) for c in frame.columns]
    _check_names(names)
    plans = []
    for position, name in enumerate(names):
        try:
            plans.append(ColumnPlan(name, *column_encoder(frame.iloc[:, position])))
        except ValueError as e:
            raise ValueError(f"column {name!r}: {e}") from e
    return plans


def column_encoder(s: pd.Series) -> tuple[str, Encoder]:
    """The wire type and encoder for one whole column, following the dtype table of the format document."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _categories(s)
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN, _booleans
    if pd.api.types.is_integer_dtype(dtype):
        _check_fits_bigint(s)
        return BIGINT, _bigints
    if pd.api.types.is_float_dtype(dtype):
        return DOUBLE, _doubles
    if isinstance(dtype, pd.DatetimeTZDtype):
        return TIMESTAMPTZ, _timestamps(aware=True)
    if pd.api.types.is_datetime64_dtype(dtype):
        return TIMESTAMP, _timestamps(aware=False)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return TEXT, _text
    return _object_encoder(s)


# ---------------------------------------------------------------------- stream parts


def _check_names(names: list[str]) -> None:
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"duplicate column names: {', '.join(dupes)}")
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"column {name!r}: the name cannot be encoded as UTF-8 ({e.reason})") from None


def _header(plans: list[ColumnPlan]) -> bytes:
    document = {"columns": [{"name": p.name, "type": p.type} for p in plans]}
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return MAGIC + struct.pack("<I", len(body)) + body


def _batches(plans: list[ColumnPlan], series: list[pd.Series], start: int, stop: int) -> Iterator[bytes]:
    """Rows start…stop as one batch, or as two halves (recursively) if a text block would be too large."""
    try:
        batch = _batch(plans, [s.iloc[start:stop] for s in series])
    except _TextTooLarge:
        middle = (start + stop) // 2
        yield from _batches(plans, series, start, middle)
        yield from _batches(plans, series, middle, stop)
        return
    yield batch


def _batch(plans: list[ColumnPlan], chunks: list[pd.Series]) -> bytes:
    pieces: list[Any] = [struct.pack("<I", len(chunks[0]))]
    for plan, chunk in zip(plans, chunks):
        try:
            nulls, values = plan.encode(chunk, None)
        except (ValueError, OverflowError) as e:
            raise ValueError(f"column {plan.name!r}: {e}") from e
        pieces.append(np.ascontiguousarray(nulls, dtype=bool).view(np.uint8))
        pieces.extend(values)
    return b"".join(pieces)


# ---------------------------------------------------------------------- type decisions


def _check_fits_bigint(s: pd.Series) -> None:
    """uint64 columns are sent as bigint only when every value fits."""
    if s.dtype.kind != "u" or s.dtype.itemsize < 8:
        return
    largest = s.max()
    if pd.notna(largest) and int(largest) > _INT64_MAX:
        raise ValueError(f"uint64 value {int(largest)} does not fit in bigint (at most {_INT64_MAX})")


def _categories(s: pd.Series) -> tuple[str, Encoder]:
    """A categorical column has its categories' type; each chunk is encoded as the categories it refers to."""
    categories = pd.Series(s.cat.categories)
    if categories.empty:
        # No categories: every value is missing, and there is no value to take a type from.
        return _object_encoder(s.astype(object))
    type_name, encode_categories = column_encoder(categories)

    def encode(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
        codes = chunk.cat.codes.to_numpy()
        nulls = codes < 0 if nulls is None else nulls
        # NULL rows (code -1) take the first category as a placeholder; the mask marks them NULL.
        return encode_categories(categories.take(np.where(nulls, 0, codes)), nulls)

    return type_name, encode


def _object_encoder(s: pd.Series) -> tuple[str, Encoder]:
    """Object (and string) columns: the type of what they hold, by ``infer_dtype`` over the whole column.

    A column whose first batch holds only strings is text whatever follows (one string makes any mix text), so
    its whole-column scan (about 8 ms per million values, before anything can be sent) is skipped: each batch is
    checked as it is encoded instead, while the server works on the previous one, and is sent as it is when it
    holds only strings, or formatted like a mixed column's values otherwise (``str(value)`` of a string is the
    string itself, so either way gives the bytes the whole-column decision gives).
    """
    if pd.api.types.infer_dtype(s.iloc[:FIRST_BATCH_ROWS], skipna=True) == "string":
        return TEXT, _text
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty"):
        return TEXT, _text
    if kind == "integer":
        return BIGINT, _bigints
    if kind in ("floating", "mixed-integer-float"):
        return DOUBLE, _doubles
    if kind == "boolean":
        return BOOLEAN, _booleans
    # infer_dtype says "date" for dates mixed with datetimes (a datetime is a date); that mix is text.
    if kind == "date" and next(_datetimes(s), None) is None:
        return DATE, _dates
    if kind == "datetime":
        awareness = {v.tzinfo is not None for v in _datetimes(s)}
        if len(awareness) <= 1:
            aware = awareness == {True}
            return (TIMESTAMPTZ if aware else TIMESTAMP), _object_datetimes(aware)
    return TEXT, _text


def _datetimes(s: pd.Series) -> Iterator[_dt.datetime]:
    """The datetime values of an object column (NaT is a datetime instance but a missing value)."""
    return (v for v in s if isinstance(v, _dt.datetime) and v is not pd.NaT)


# ---------------------------------------------------------------------- encoders


def _filled(chunk: pd.Series, nulls: np.ndarray, dtype: str, fill: Any) -> np.ndarray:
    """The chunk as a contiguous array of ``dtype``, with ``fill`` in the NULL rows.

    pandas 1.5's ``Series.to_numpy(na_value=…)`` converts before filling (an object column holding None
    fails), so only extension arrays, which fill first, are given the fill value.
    """
    if isinstance(chunk.dtype, pd.api.extensions.ExtensionDtype):
        return np.ascontiguousarray(chunk.to_numpy(dtype=dtype, na_value=fill))
    values = chunk.to_numpy()
    if values.dtype == object:
        values = np.where(nulls, fill, values)
    return np.ascontiguousarray(values, dtype=dtype)


def _nulls(chunk: pd.Series, given: np.ndarray | None) -> np.ndarray:
    return chunk.isna().to_numpy() if given is None else given


def _booleans(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
    nulls = _nulls(chunk, nulls)
    return nulls, [_filled(chunk, nulls, "bool", False).view(np.uint8)]


def _bigints(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
    nulls = _nulls(chunk, nulls)
    try:
        values = _filled(chunk, nulls, "<i8", 0)
    except OverflowError:
        raise ValueError(f"an integer is outside bigint's range ({-_INT64_MAX - 1} … {_INT64_MAX})") from None
    return nulls, [values]


def _doubles(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
    nulls = _nulls(chunk, nulls)
    values = _filled(chunk, nulls, "<f8", np.nan)
    # NaN is NULL, as in the CSV path (a Float64 column can hold NaN besides pd.NA).
    return nulls | np.isnan(values), [values]


def _timestamps(aware: bool) -> Encoder:
    """datetime64 columns of any unit; tz-aware ones are sent as their UTC instant."""

    def encode(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
        nulls = _nulls(chunk, nulls)
        naive = chunk.dt.tz_convert(None) if aware else chunk
        return nulls, [_microseconds(naive.to_numpy(), nulls)]

    return encode


def _microseconds(stamps: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """datetime64 values (any unit) as int64 microseconds since the epoch; NULL rows become 0."""
    unit, count = np.datetime_data(stamps.dtype)
    tick = np.timedelta64(count, unit)
    ticks = np.where(nulls, 0, stamps.view(np.int64))
    micros_per_tick = int(tick // _MICROSECOND)
    if micros_per_tick == 0:
        # Ticks shorter than a microsecond (nanoseconds): divide, rounding half to even.
        return _divide_half_even(ticks, int(_MICROSECOND // tick))
    if np.any(np.abs(ticks) > _INT64_MAX // micros_per_tick):
        raise ValueError("a timestamp is too far from 1970 to be held as int64 microseconds")
    return ticks * micros_per_tick


def _divide_half_even(values: np.ndarray, divisor: int) -> np.ndarray:
    quotient, remainder = np.divmod(values, divisor)
    return quotient + _rounds_up(remainder, quotient, divisor)


def _rounds_up(remainder: np.ndarray, quotient: np.ndarray, divisor: int) -> np.ndarray:
    """1 where quotient + remainder/divisor rounds (half to even) to quotient + 1, else 0."""
    twice = 2 * remainder
    return ((twice > divisor) | ((twice == divisor) & (quotient % 2 == 1))).astype(np.int64)


def _dates(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
    """datetime.date objects as int32 days since 1970-01-01 (NumPy converts them without Python code)."""
    nulls = _nulls(chunk, nulls)
    days = np.where(nulls, None, chunk.to_numpy(dtype=object)).astype("datetime64[D]").view(np.int64)
    return nulls, [np.ascontiguousarray(np.where(nulls, 0, days), dtype="<i4")]


def _object_datetimes(aware: bool) -> Encoder:
    """datetime.datetime / pd.Timestamp objects: all naive (timestamp) or all aware (timestamptz, as UTC)."""

    def encode(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
        nulls = _nulls(chunk, nulls)
        values = [None if null else (_utc_naive(v) if aware else v) for v, null in zip(chunk, nulls)]
        # NumPy reads the fields down to the microsecond (the whole datetime range, no overflow) and drops
        # a Timestamp's nanoseconds, which then round the result half to even like the datetime64 path.
        micros = np.where(nulls, 0, np.array(values, dtype="datetime64[us]").view(np.int64))
        nanos = np.fromiter((getattr(v, "nanosecond", 0) for v in values), dtype=np.int64, count=len(values))
        return nulls, [np.ascontiguousarray(micros + _rounds_up(nanos, micros, 1000), dtype="<i8")]

    return encode


def _utc_naive(value: _dt.datetime) -> _dt.datetime:
    return value.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _text(chunk: pd.Series, nulls: np.ndarray | None) -> tuple[np.ndarray, Sequence[Any]]:
    """Text: the chunk's values NUL-joined, as they are when they are strings, else as textformat writes them.

    Most text chunks hold only strings, and then a plain join succeeds (it takes nothing but str), so there is
    no NULL to look for and nothing to format: one pass instead of four (missing-value scan, replacement, type
    check, join), about 30 ms less per million values. Otherwise the missing values become NULL, and the rest
    is joined as is when it is all strings, or formatted (``str(value)`` of a string is the string itself, so a
    chunk's bytes do not depend on which way it went).
    """
    values = chunk.to_numpy(dtype=object)
    joined = None
    if nulls is None:
        try:
            joined = "\0".join(values.tolist())
            nulls = np.zeros(len(values), dtype=bool)
        except TypeError:
            nulls = _nulls(chunk, None)
    if joined is None:
        try:
            joined = "\0".join(np.where(nulls, "", values).tolist())
        except TypeError:
            joined = "\0".join(np.where(nulls, "", format_series(chunk).to_numpy(dtype=object)).tolist())
    try:
        data = joined.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"a value cannot be encoded as UTF-8 ({e.reason})") from None
    # UTF-8 has no 0x00 byte but NUL's own, so the zero bytes are the separators plus any NUL in a value
    # (counted by NumPy: ~30x faster than str.count).
    separators = len(data) - np.count_nonzero(np.frombuffer(data, dtype=np.uint8))
    if separators != len(values) - 1:
        raise ValueError("a value contains the NUL character (\\0), which PostgreSQL text cannot hold")
    if len(data) > MAX_TEXT_BYTES:
        if len(values) > 1:
            raise _TextTooLarge()
        raise ValueError(f"a value of {len(data):,} bytes is longer than a text block may be ({MAX_TEXT_BYTES:,} bytes)")
    return nulls, [struct.pack("<I", len(data)), data]
