"""DataFrame -> the binary columns upload format (docs/columns-format.md): which type each dtype becomes, and its values.

Values are read back with the independent decoder in columns_decoder.py; expected values are computed from the
input frame with plain Python, never taken from the encoder.
"""

import datetime as dt
import decimal

import pytest

from prereq import need

need("pandas", "numpy")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from columns_decoder import EPOCH, expected_naive, expected_utc, micros_half_even, roundtrip  # noqa: E402
from datastack import columns  # noqa: E402
from datastack.columns import iter_column_chunks  # noqa: E402


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


def test_a_string_column_with_other_values_past_its_first_batch_is_text_formatted_like_a_mix():
    """Strings first, then an int, a bool and a datetime in a later batch: text, the later values formatted."""
    strings = [f"s{i}" for i in range(columns.FIRST_BATCH_ROWS + 10)]
    later = [7, True, dt.datetime(2024, 1, 5, 8, 13), None, "z"]
    decoded = roundtrip(pd.DataFrame({"m": pd.Series(strings + later, dtype=object)}), chunk_rows=1000)
    assert decoded.types["m"] == "text"
    assert len(decoded.batch_rows) > 2  # the other values are in a later batch than the first
    assert decoded.values["m"] == strings + ["7", "true", "2024-01-05T08:13:00", None, "z"]


def test_a_string_column_with_a_nul_past_its_first_batch_is_an_error_naming_the_column():
    values = ["ok"] * (columns.FIRST_BATCH_ROWS + 1) + ["bad\0value"]
    with pytest.raises(ValueError, match="column 't'.*NUL"):
        b"".join(iter_column_chunks(pd.DataFrame({"t": pd.Series(values, dtype=object)})))


def test_all_missing_object_column_is_text():
    """An object column with no value at all is text, every row NULL."""
    decoded = roundtrip(pd.DataFrame({"n": pd.Series([None, np.nan], dtype=object), "k": [1, 2]}))
    assert decoded.types["n"] == "text"
    assert decoded.values["n"] == [None, None]
