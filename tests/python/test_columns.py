"""DataFrame -> the binary columns upload format (docs/columns-format.md).

The decoder below is written from the format document alone; expected values are computed from the input
frame with plain Python, never taken from the encoder.
"""

import datetime as dt
import decimal
import json
import struct
from fractions import Fraction

import pytest

from prereq import need

need("pandas", "numpy")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from datastack import columns  # noqa: E402
from datastack.columns import CONTENT_TYPE, iter_column_chunks  # noqa: E402

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


# ---------------------------------------------------------------------- stream layout


def test_content_type_is_the_documented_one():
    """The media type is the one the server routes on."""
    assert CONTENT_TYPE == "application/vnd.datastack.columns"


def test_header_first_then_batches_then_end_marker():
    """The first chunk is the header alone; the last is u32 0; names are str(name), the index is not sent."""
    frame = pd.DataFrame({0: [1, 2], "b": ["x", "y"]}, index=[10, 20])
    chunks = list(iter_column_chunks(frame))
    length = struct.unpack_from("<I", chunks[0], 8)[0]
    assert chunks[0][:8] == b"DSCOLS01" and len(chunks[0]) == 12 + length
    assert json.loads(chunks[0][12:]) == {"columns": [{"name": "0", "type": "bigint"}, {"name": "b", "type": "text"}]}
    assert chunks[-1] == b"\x00\x00\x00\x00"
    assert decode(b"".join(chunks)).values == {"0": [1, 2], "b": ["x", "y"]}


def test_empty_frame_is_header_and_end_marker():
    """A frame with columns but no rows yields the header and the end marker only."""
    chunks = list(iter_column_chunks(pd.DataFrame({"a": pd.Series([], dtype="int64")})))
    assert len(chunks) == 2 and chunks[1] == b"\x00\x00\x00\x00"
    assert decode(b"".join(chunks)).batch_rows == []


def test_chunks_are_lazy():
    """Nothing is encoded before the generator is advanced, and each batch is its own chunk."""
    generator = iter_column_chunks(pd.DataFrame({"a": range(10)}), chunk_rows=4)
    next(generator)
    assert struct.unpack_from("<I", next(generator))[0] == 4


# ---------------------------------------------------------------------- chunk boundaries


def test_batches_split_rows_with_a_last_partial_batch():
    """chunk_rows smaller than the frame: full batches, then the rest; values cross boundaries intact."""
    frame = pd.DataFrame(
        {
            "i": range(10),
            "s": [f"row {n}" if n % 3 else None for n in range(10)],
            "f": [n / 4 if n % 4 else np.nan for n in range(10)],
            "t": pd.to_datetime([f"2024-01-{n + 1:02d}" for n in range(10)]),
        }
    )
    decoded = roundtrip(frame, chunk_rows=3)
    assert decoded.batch_rows == [3, 3, 3, 1]
    assert decoded.values["i"] == list(range(10))
    assert decoded.values["s"] == [f"row {n}" if n % 3 else None for n in range(10)]
    assert decoded.values["f"] == [n / 4 if n % 4 else None for n in range(10)]
    assert decoded.values["t"] == [dt.datetime(2024, 1, n + 1) for n in range(10)]


def test_one_batch_when_chunk_rows_exceeds_the_frame():
    """A frame smaller than chunk_rows is one batch."""
    assert roundtrip(pd.DataFrame({"a": range(7)}), chunk_rows=100).batch_rows == [7]


@pytest.mark.parametrize("chunk_rows", [0, 1_048_577])
def test_chunk_rows_outside_the_batch_limits_is_refused(chunk_rows):
    """A batch holds 1 … 1,048,576 rows."""
    with pytest.raises(ValueError, match="chunk_rows"):
        next(iter_column_chunks(pd.DataFrame({"a": [1]}), chunk_rows=chunk_rows))


def test_object_column_type_is_decided_on_the_whole_column():
    """An object column whose first batch holds only ints but a later one a str is text in every batch."""
    frame = pd.DataFrame({"o": [1, 2, 3, "x"], "n": [None, None, None, "late"]})
    decoded = roundtrip(frame, chunk_rows=2)
    assert decoded.types == {"o": "text", "n": "text"}
    assert decoded.values == {"o": ["1", "2", "3", "x"], "n": [None, None, None, "late"]}


def test_a_text_batch_over_the_block_limit_is_split(monkeypatch):
    """When a text block would exceed the limit, the batch is sent as smaller batches (same rows, in order)."""
    monkeypatch.setattr(columns, "MAX_TEXT_BYTES", 25)
    texts = [f"value-{n:03d}" for n in range(8)]  # 9 bytes each
    decoded = roundtrip(pd.DataFrame({"s": texts, "i": range(8)}), chunk_rows=8)
    assert decoded.batch_rows == [2, 2, 2, 2]
    assert decoded.values == {"s": texts, "i": list(range(8))}


def test_a_single_value_over_the_block_limit_is_an_error(monkeypatch):
    """A value that alone exceeds the text block limit cannot be sent; the error names the column."""
    monkeypatch.setattr(columns, "MAX_TEXT_BYTES", 10)
    with pytest.raises(ValueError, match="'long'"):
        b"".join(iter_column_chunks(pd.DataFrame({"long": ["short", "x" * 11]})))


# ---------------------------------------------------------------------- booleans and numbers


def test_booleans_and_nullable_booleans():
    """bool and boolean are boolean; pd.NA is NULL."""
    frame = pd.DataFrame({"b": [True, False, True], "nb": pd.array([False, None, True], dtype="boolean")})
    decoded = roundtrip(frame)
    assert decoded.types == {"b": "boolean", "nb": "boolean"}
    assert decoded.values == {"b": [True, False, True], "nb": [False, None, True]}


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"])
def test_numpy_integers_are_bigint(dtype):
    """Every NumPy integer dtype up to uint32 is bigint, extremes included."""
    info = np.iinfo(dtype)
    values = [int(info.min), 0, int(info.max)]
    decoded = roundtrip(pd.DataFrame({"i": np.array(values, dtype=dtype)}))
    assert decoded.types == {"i": "bigint"}
    assert decoded.values["i"] == values


@pytest.mark.parametrize("dtype", ["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"])
def test_nullable_integers_are_bigint_with_nulls(dtype):
    """Nullable integers are bigint; pd.NA is NULL."""
    top = int(np.iinfo(dtype.lower()).max) if dtype != "UInt64" else 2**63 - 1
    values = [int(np.iinfo(dtype.lower()).min), None, top]
    decoded = roundtrip(pd.DataFrame({"i": pd.array(values, dtype=dtype)}))
    assert decoded.types == {"i": "bigint"}
    assert decoded.values["i"] == values


def test_uint64_that_fits_is_bigint():
    """uint64 values up to 2**63 - 1 are sent as bigint."""
    decoded = roundtrip(pd.DataFrame({"u": np.array([0, 2**63 - 1], dtype="uint64")}))
    assert decoded.types == {"u": "bigint"}
    assert decoded.values["u"] == [0, 2**63 - 1]


@pytest.mark.parametrize("dtype", ["uint64", "UInt64"])
def test_uint64_overflow_is_an_error_naming_the_column(dtype):
    """A uint64 value above 2**63 - 1 cannot be bigint; the error names the column, before anything is sent."""
    frame = pd.DataFrame({"ok": [1, 2], "big": pd.array([1, 2**63], dtype=dtype)})
    with pytest.raises(ValueError, match="'big'.*9223372036854775808"):
        iter_column_chunks(frame)  # the call itself, not the first next(): requests never starts a body


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_numpy_floats_are_double_with_nan_as_null_and_infinities_kept(dtype):
    """Floats are double precision; NaN is NULL; ±inf stay values."""
    values = np.array([1.5, np.nan, np.inf, -np.inf, -0.25], dtype=dtype)
    decoded = roundtrip(pd.DataFrame({"f": values}))
    assert decoded.types == {"f": "double precision"}
    assert decoded.values["f"] == [1.5, None, float("inf"), float("-inf"), -0.25]


def test_float64_values_are_sent_exactly():
    """double precision carries every bit of a float64 (no text round trip)."""
    values = [0.1, 1e-300, 2.0**-1074, 1.7976931348623157e308, np.pi]
    assert roundtrip(pd.DataFrame({"f": values})).values["f"] == values


@pytest.mark.parametrize("dtype", ["Float32", "Float64"])
def test_nullable_floats_are_double_with_nulls(dtype):
    """Float32 / Float64 are double precision; pd.NA is NULL."""
    decoded = roundtrip(pd.DataFrame({"f": pd.array([0.5, None, -2.0], dtype=dtype)}))
    assert decoded.types == {"f": "double precision"}
    assert decoded.values["f"] == [0.5, None, -2.0]


def test_nan_inside_a_nullable_float_column_is_null_too():
    """A Float64 column can hold NaN besides pd.NA (0/0); NaN is NULL there as in float64."""
    values = pd.array([0.0, 1.0, None, 2.0], dtype="Float64") / pd.array([0.0, 0.0, 1.0, 4.0], dtype="Float64")
    # 0/0 must be NaN, not pd.NA, for this test to mean anything.
    assert values[0] is not pd.NA and not pd.Series(values).isna()[0]
    assert roundtrip(pd.DataFrame({"f": values})).values["f"] == [None, float("inf"), None, 0.5]


# ---------------------------------------------------------------------- dates and times


def test_naive_datetimes_are_timestamps_with_nat_as_null():
    """datetime64[ns] is timestamp: microseconds since 1970, before 1970 too; NaT is NULL."""
    stamps = pd.to_datetime(["2024-01-05 08:13:00.123456", None, "1969-07-20 20:17:40", "1677-09-22", "2262-04-11"])
    decoded = roundtrip(pd.DataFrame({"t": stamps}))
    assert decoded.types == {"t": "timestamp"}
    assert decoded.values["t"] == [expected_naive(s) for s in stamps]
    assert decoded.values["t"][0] == dt.datetime(2024, 1, 5, 8, 13, 0, 123456)


def test_nanoseconds_round_half_to_even():
    """Nanoseconds are rounded to the microsecond half to even (PostgreSQL's rint), before 1970 too."""
    base = pd.Timestamp("2024-01-05").value
    offsets = [499, 500, 501, 1500, 2500, -500, -1500, -501]
    stamps = pd.to_datetime([base + n for n in offsets] + [n for n in offsets], unit="ns")
    decoded = roundtrip(pd.DataFrame({"t": stamps}))
    assert decoded.values["t"] == [EPOCH + dt.timedelta(microseconds=micros_half_even(s.value)) for s in stamps]
    # Written out for the first few: 499 -> 0, 500 -> 0 (even), 501 -> 1, 1500 -> 2, 2500 -> 2.
    assert [t.microsecond for t in decoded.values["t"][:5]] == [0, 0, 1, 2, 2]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_datetimes_of_other_units_are_scaled_to_microseconds(unit):
    """datetime64 of any unit (pandas 2 keeps s/ms/us) becomes microseconds since 1970, far dates included.

    Checked on the NumPy arrays such columns hold, so it runs on pandas 1.5 too (which converts them to ns).
    """
    stamps = np.array(["0001-01-01T00:00:00", "2024-01-05T08:13:00", "9999-12-31T23:59:59", "NaT"], dtype=f"datetime64[{unit}]")
    nulls = np.isnat(stamps)
    micros = columns._microseconds(stamps, nulls)
    expected = [dt.datetime(1, 1, 1), dt.datetime(2024, 1, 5, 8, 13), dt.datetime(9999, 12, 31, 23, 59, 59)]
    assert micros[:3].tolist() == [(e - EPOCH) // dt.timedelta(microseconds=1) for e in expected]
    assert micros[3] == 0


def test_aware_datetimes_are_timestamptz_holding_the_utc_instant():
    """datetime64[ns, tz] is timestamptz: the UTC instant, whatever the zone (DST included); NaT is NULL."""
    paris = pd.to_datetime(["2024-01-05 08:13:00", "2024-07-05 08:13:00.0000015", None]).tz_localize("Europe/Paris")
    frame = pd.DataFrame({"paris": paris, "utc": paris.tz_convert("UTC")})
    decoded = roundtrip(frame)
    assert decoded.types == {"paris": "timestamptz", "utc": "timestamptz"}
    expected = [expected_utc(s) for s in paris]
    assert decoded.values == {"paris": expected, "utc": expected}
    assert expected[0] == dt.datetime(2024, 1, 5, 7, 13, tzinfo=dt.timezone.utc)


def test_timedeltas_are_text_as_str():
    """timedelta64 is text, each value as str(); NaT is NULL."""
    deltas = pd.to_timedelta(["1 days 02:03:04", None, "-5min"])
    decoded = roundtrip(pd.DataFrame({"d": deltas}))
    assert decoded.types == {"d": "text"}
    assert decoded.values["d"] == [str(deltas[0]), None, str(deltas[2])]


# ---------------------------------------------------------------------- categories


def test_categories_are_sent_with_the_categories_type():
    """A category column has its categories' type; a missing value is NULL."""
    frame = pd.DataFrame(
        {
            "s": pd.Categorical(["b", None, "a", "b"]),
            "i": pd.Categorical([3, 1, None, 3]),
            "f": pd.Categorical([0.5, None, 0.5, 2.0]),
            "t": pd.Categorical(pd.to_datetime(["2024-01-01", None, "2024-01-02", "2024-01-01"])),
            "z": pd.Categorical(pd.to_datetime(["2024-01-01 12:00", "2024-01-01 12:00", None, None]).tz_localize("Asia/Tokyo")),
            "none": pd.Categorical([None, None, None, None]),
        }
    )
    decoded = roundtrip(frame, chunk_rows=3)
    assert decoded.types == {
        "s": "text",
        "i": "bigint",
        "f": "double precision",
        "t": "timestamp",
        "z": "timestamptz",
        "none": "text",
    }
    assert decoded.values == {
        "s": ["b", None, "a", "b"],
        "i": [3, 1, None, 3],
        "f": [0.5, None, 0.5, 2.0],
        "t": [dt.datetime(2024, 1, 1), None, dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1)],
        "z": [dt.datetime(2024, 1, 1, 3, tzinfo=dt.timezone.utc)] * 2 + [None, None],
        "none": [None] * 4,
    }


# ---------------------------------------------------------------------- object and string columns


def test_nulls_of_every_kind_are_null():
    """None, NaN, NaT and pd.NA in an object column of str are NULL; an empty string is a value."""
    frame = pd.DataFrame({"s": ["a", None, np.nan, pd.NaT, pd.NA, ""]})
    decoded = roundtrip(frame)
    assert decoded.types == {"s": "text"}
    assert decoded.values["s"] == ["a", None, None, None, None, ""]


def test_string_dtype_is_text_with_na_as_null():
    """The 'string' dtype is text; pd.NA is NULL."""
    decoded = roundtrip(pd.DataFrame({"s": pd.array(["x", None, "z"], dtype="string")}))
    assert decoded.types == {"s": "text"}
    assert decoded.values["s"] == ["x", None, "z"]


def test_text_with_delimiters_quotes_newlines_and_non_ascii_survives():
    """Text is sent as it is: commas, quotes, newlines, tabs, non-ASCII and emoji come back unchanged."""
    texts = ["a,b", 'say "hi"', "two\nlines\r\n", "tab\there", "Zürich – 東京", "🦆", " padded "]
    decoded = roundtrip(pd.DataFrame({"s": texts}))
    assert decoded.values["s"] == texts


def test_object_ints_floats_and_bools_keep_their_type():
    """Object columns of only int / int and float / only bool are bigint / double precision / boolean."""
    frame = pd.DataFrame(
        {
            "i": pd.Series([1, None, 2**62, np.int64(-7)], dtype=object),
            "f": pd.Series([1, 2.5, None, np.nan], dtype=object),
            "b": pd.Series([True, None, np.bool_(False), pd.NA], dtype=object),
        }
    )
    decoded = roundtrip(frame)
    assert decoded.types == {"i": "bigint", "f": "double precision", "b": "boolean"}
    assert decoded.values == {"i": [1, None, 2**62, -7], "f": [1.0, 2.5, None, None], "b": [True, None, False, None]}


def test_object_ints_outside_bigint_are_an_error_naming_the_column():
    """A Python int beyond int64 in an object column of ints cannot be bigint."""
    frame = pd.DataFrame({"huge": pd.Series([1, 2**64], dtype=object)})
    with pytest.raises(ValueError, match="'huge'"):
        b"".join(iter_column_chunks(frame))


def test_object_dates_are_date():
    """An object column of datetime.date is date (days since 1970), with NULLs; far dates too."""
    values = [dt.date(2024, 2, 29), None, dt.date(1969, 12, 31), pd.NaT, dt.date(1, 1, 1), dt.date(9999, 12, 31)]
    decoded = roundtrip(pd.DataFrame({"d": pd.Series(values, dtype=object)}))
    assert decoded.types == {"d": "date"}
    assert decoded.values["d"] == [None if v is None or v is pd.NaT else v for v in values]
    assert decoded.values["d"][2] == dt.date(1969, 12, 31)


def test_object_naive_datetimes_are_timestamp():
    """datetime / Timestamp objects, all naive, are timestamp; beyond pandas' ns range too; ns round half to even."""
    nanos = [pd.Timestamp(f"2024-01-05 08:13:00.000{n}") for n in ("0025", "0035", "0026")]
    values = [dt.datetime(2024, 1, 5, 8, 13, 0, 7), *nanos, None, dt.datetime(1, 1, 1), pd.NaT]
    decoded = roundtrip(pd.DataFrame({"t": pd.Series(values, dtype=object)}))
    assert decoded.types == {"t": "timestamp"}
    assert decoded.values["t"] == [
        dt.datetime(2024, 1, 5, 8, 13, 0, 7),
        *(EPOCH + dt.timedelta(microseconds=micros_half_even(n.value)) for n in nanos),
        None,
        dt.datetime(1, 1, 1),
        None,
    ]
    assert [t.microsecond for t in decoded.values["t"][1:4]] == [2, 4, 3]


def test_object_aware_datetimes_with_different_offsets_are_timestamptz():
    """Aware datetime / Timestamp objects (any mix of zones) are timestamptz holding the UTC instant."""
    minus5 = dt.timezone(dt.timedelta(hours=-5))
    values = [dt.datetime(2024, 1, 5, 8, 13, tzinfo=minus5), pd.Timestamp("2024-07-01 12:00", tz="Europe/Paris"), None]
    decoded = roundtrip(pd.DataFrame({"t": pd.Series(values, dtype=object)}))
    assert decoded.types == {"t": "timestamptz"}
    assert decoded.values["t"] == [
        dt.datetime(2024, 1, 5, 13, 13, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 7, 1, 10, 0, tzinfo=dt.timezone.utc),
        None,
    ]


def test_object_mixes_are_text_as_the_csv_path_formats_them():
    """Naive with aware datetimes, dates with datetimes, ints with str, Decimal: text in CSV formatting."""
    naive = dt.datetime(2024, 1, 5, 8, 13)
    aware = naive.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    frame = pd.DataFrame(
        {
            "naive_aware": pd.Series([naive, aware, None], dtype=object),
            "date_datetime": pd.Series([dt.date(2024, 1, 5), dt.datetime(2024, 1, 5, 8, 13, 0, 250000), None], dtype=object),
            "mixed": pd.Series([1, "a", True], dtype=object),
            "decimal": pd.Series([decimal.Decimal("1.10"), None, decimal.Decimal("-3")], dtype=object),
        }
    )
    decoded = roundtrip(frame)
    assert set(decoded.types.values()) == {"text"}
    assert decoded.values == {
        "naive_aware": ["2024-01-05T08:13:00", "2024-01-05T08:13:00-05:00", None],
        "date_datetime": ["2024-01-05", "2024-01-05T08:13:00.250000", None],
        "mixed": ["1", "a", "true"],
        "decimal": ["1.10", None, "-3"],
    }


def test_all_missing_object_column_is_text():
    """An object column with no value at all is text, every row NULL."""
    decoded = roundtrip(pd.DataFrame({"n": pd.Series([None, np.nan], dtype=object), "k": [1, 2]}))
    assert decoded.types["n"] == "text"
    assert decoded.values["n"] == [None, None]


# ---------------------------------------------------------------------- errors


def test_nul_in_a_string_is_an_error_naming_the_column():
    """PostgreSQL text cannot hold NUL, the value separator: the error names the column."""
    frame = pd.DataFrame({"fine": ["a", "b"], "bad": ["ok", "nul\0inside"]})
    with pytest.raises(ValueError, match=r"'bad'.*NUL"):
        b"".join(iter_column_chunks(frame))


def test_lone_surrogate_is_an_error_naming_the_column():
    """A str that is not valid Unicode (a lone surrogate) cannot be UTF-8; the error names the column."""
    frame = pd.DataFrame({"bad": ["ok", "\ud800"]})
    with pytest.raises(ValueError, match="'bad'.*UTF-8"):
        b"".join(iter_column_chunks(frame))


def test_duplicate_column_names_are_rejected():
    """Two columns whose str() names are equal cannot become one table; the error names them."""
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "a", 1])
    with pytest.raises(ValueError, match="duplicate column names: a"):
        next(iter_column_chunks(frame))
    with pytest.raises(ValueError, match="duplicate column names: 1"):
        next(iter_column_chunks(pd.DataFrame([[1, 2]], columns=[1, "1"])))


def test_a_column_name_that_is_not_utf8_is_an_error():
    """A name with a lone surrogate cannot go into the UTF-8 header; the error says which column."""
    with pytest.raises(ValueError, match="'bad.*UTF-8"):
        next(iter_column_chunks(pd.DataFrame({"ok": [1], "bad\ud800": [2]})))
