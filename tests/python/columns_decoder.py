"""An independent reader of the binary columns upload format (docs/columns-format.md), for the tests.

The decoder is written from the format document alone; the expected values are computed from the input
frame with plain Python, never taken from the encoder. Import it after ``need("pandas", "numpy")``.
"""

import datetime as dt
import json
import struct
from fractions import Fraction

import numpy as np
import pandas as pd

from datastack import columns
from datastack.columns import iter_column_chunks

EPOCH = dt.datetime(1970, 1, 1)
EPOCH_DATE = dt.date(1970, 1, 1)
# type -> (NumPy dtype of one value, its size in bytes), from the layout's "values" table.
FIXED = {
    "boolean": ("u1", 1),
    "bigint": ("<i8", 8),
    "double precision": ("<f8", 8),
    "date": ("<i4", 4),
    "timestamp": ("<i8", 8),
    "timestamptz": ("<i8", 8),
}


# ---------------------------------------------------------------------- an independent decoder


class Decoded:
    """A decoded stream: the header's columns, the row count of each batch, and each column's values."""

    def __init__(self, header, batch_rows, values):
        self.header = header
        self.batch_rows = batch_rows
        self.values = values

    @property
    def types(self):
        return {c["name"]: c["type"] for c in self.header}


def decode(stream):
    """Read a whole stream as the format document describes it; NULL -> None."""
    assert stream[:8] == b"DSCOLS01"
    (length,) = struct.unpack_from("<I", stream, 8)
    header = json.loads(stream[12 : 12 + length].decode("utf-8"))["columns"]
    position = 12 + length
    batch_rows = []
    values = {c["name"]: [] for c in header}
    while True:
        (rows,) = struct.unpack_from("<I", stream, position)
        position += 4
        if rows == 0:
            break
        assert 1 <= rows <= 1_048_576
        batch_rows.append(rows)
        for column in header:
            nulls = np.frombuffer(stream, dtype="u1", count=rows, offset=position).tolist()
            position += rows
            assert set(nulls) <= {0, 1}
            raw, position = read_values(stream, position, column["type"], rows, nulls)
            values[column["name"]].extend(None if null else value for null, value in zip(nulls, raw))
    assert position == len(stream), "bytes after the end marker"
    return Decoded(header, batch_rows, values)


def read_values(stream, position, type_name, rows, nulls):
    """One block's values as Python objects, and the position after them."""
    if type_name == "text":
        (length,) = struct.unpack_from("<I", stream, position)
        texts = stream[position + 4 : position + 4 + length].decode("utf-8").split("\0")
        assert len(texts) == rows
        assert all(text == "" for text, null in zip(texts, nulls) if null), "a NULL's text must be empty"
        return texts, position + 4 + length
    code, size = FIXED[type_name]
    raw = np.frombuffer(stream, dtype=code, count=rows, offset=position).tolist()
    convert = {
        "boolean": check_bool,
        "bigint": int,
        "double precision": float,
        "date": lambda days: EPOCH_DATE + dt.timedelta(days=days),
        "timestamp": lambda us: EPOCH + dt.timedelta(microseconds=us),
        "timestamptz": lambda us: (EPOCH + dt.timedelta(microseconds=us)).replace(tzinfo=dt.timezone.utc),
    }[type_name]
    return [None if null else convert(v) for v, null in zip(raw, nulls)], position + rows * size


def check_bool(byte):
    assert byte in (0, 1)
    return byte == 1


def roundtrip(frame, chunk_rows=columns.DEFAULT_CHUNK_ROWS):
    return decode(b"".join(iter_column_chunks(frame, chunk_rows=chunk_rows)))


# ---------------------------------------------------------------------- expected values, computed independently


def micros_half_even(nanoseconds):
    """Nanoseconds since the epoch -> microseconds, rounded half to even (Python's round of a Fraction)."""
    return round(Fraction(nanoseconds, 1000))


def expected_naive(stamp):
    return None if pd.isna(stamp) else EPOCH + dt.timedelta(microseconds=micros_half_even(stamp.value))


def expected_utc(stamp):
    # Timestamp.value is the UTC instant in nanoseconds for tz-aware timestamps too.
    return None if pd.isna(stamp) else expected_naive(stamp).replace(tzinfo=dt.timezone.utc)
