"""DataFrame -> CSV: the dialect Processing infers column types from."""

import csv
import datetime as dt
import io

import pytest

from prereq import need

need("pandas", "numpy")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from datastack.csvio import frame_to_csv, iter_csv_chunks  # noqa: E402


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_no_index_and_header_first():
    """The index is not written; the header row comes first."""
    frame = pd.DataFrame({"a": [1, 2]}, index=[10, 20])
    assert frame_to_csv(frame) == "a\n1\n2\n"


def test_header_can_be_left_out():
    """header=False writes data rows only."""
    assert frame_to_csv(pd.DataFrame({"a": [1]}), header=False) == "1\n"


def test_booleans_are_lowercase_words():
    """bool columns become true/false."""
    assert rows(frame_to_csv(pd.DataFrame({"b": [True, False]})))[1:] == [["true"], ["false"]]


def test_nullable_booleans_and_python_bools_with_none():
    """The 'boolean' dtype and object columns of bool/None also become true/false/empty."""
    frame = pd.DataFrame({"nb": pd.array([True, None, False], dtype="boolean"), "ob": [None, True, False], "k": [1, 2, 3]})
    assert rows(frame_to_csv(frame))[1:] == [["true", "", "1"], ["", "true", "2"], ["false", "false", "3"]]


def test_missing_values_are_empty_fields():
    """NaN, None, NaT and pd.NA are written as empty fields."""
    frame = pd.DataFrame(
        {
            "f": [np.nan, 1.5],
            "s": [None, "x"],
            "t": pd.to_datetime([None, "2024-01-05"]),
            "i": pd.array([None, 3], dtype="Int64"),
        }
    )
    assert rows(frame_to_csv(frame))[1] == ["", "", "", ""]


def test_integers_stay_integers_even_with_nulls():
    """Nullable Int64 is written without a trailing .0."""
    frame = pd.DataFrame({"i": pd.array([1, None, 3], dtype="Int64"), "j": [1, 2, 3]})
    assert rows(frame_to_csv(frame))[1:] == [["1", "1"], ["", "2"], ["3", "3"]]


def test_floats_round_trip_and_infinities_are_spelled_out():
    """Floats use the shortest round-trip form; +-inf become Infinity/-Infinity."""
    frame = pd.DataFrame({"f": [0.1, 1e-300, 2.0, float("inf"), float("-inf")]})
    written = [r[0] for r in rows(frame_to_csv(frame))[1:]]
    assert written == ["0.1", "1e-300", "2.0", "Infinity", "-Infinity"]
    assert [float(w) for w in written[:3]] == [0.1, 1e-300, 2.0]


def test_naive_datetimes_are_iso_8601_without_offset():
    """Naive timestamps are written as 2024-01-05T08:13:00 (fraction only when present)."""
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-05 08:13:00", "2024-02-29 23:59:59"])})
    assert [r[0] for r in rows(frame_to_csv(frame))[1:]] == ["2024-01-05T08:13:00", "2024-02-29T23:59:59"]


def test_fractional_seconds_are_kept():
    """Sub-second timestamps keep their microseconds."""
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-05 08:13:00.25", "2024-01-05 08:13:01"])})
    assert [r[0] for r in rows(frame_to_csv(frame))[1:]] == ["2024-01-05T08:13:00.250000", "2024-01-05T08:13:01.000000"]


def test_aware_datetimes_carry_their_offset():
    """tz-aware timestamps are written with their UTC offset, including DST changes."""
    t = pd.to_datetime(["2024-01-05 08:13:00", "2024-07-05 08:13:00"]).tz_localize("Europe/Paris")
    frame = pd.DataFrame({"t": t, "u": t.tz_convert("UTC")})
    assert rows(frame_to_csv(frame))[1:] == [
        ["2024-01-05T08:13:00+01:00", "2024-01-05T07:13:00+00:00"],
        ["2024-07-05T08:13:00+02:00", "2024-07-05T06:13:00+00:00"],
    ]


def test_python_dates_and_datetimes_in_object_columns():
    """date and datetime objects are written in ISO 8601 too."""
    tz = dt.timezone(dt.timedelta(hours=-5))
    frame = pd.DataFrame({"d": [dt.date(2024, 1, 5), None], "t": [dt.datetime(2024, 1, 5, 8, 13, tzinfo=tz), None]})
    assert rows(frame_to_csv(frame))[1:] == [["2024-01-05", "2024-01-05T08:13:00-05:00"], ["", ""]]


def test_text_is_quoted_only_when_needed():
    """Delimiters, quotes and newlines are quoted per RFC 4180; plain text is not."""
    frame = pd.DataFrame({"s": ["plain", "a,b", 'say "hi"', "two\nlines"], "k": [1, 2, 3, 4]})
    text = frame_to_csv(frame)
    assert text.splitlines()[1] == "plain,1"
    assert rows(text)[1:] == [["plain", "1"], ["a,b", "2"], ['say "hi"', "3"], ["two\nlines", "4"]]
    assert '"say ""hi"""' in text


def test_other_delimiter_is_honoured():
    """delimiter=';' separates fields with ';' and quotes fields containing it."""
    text = frame_to_csv(pd.DataFrame({"a": ["x;y"], "b": [1]}), delimiter=";")
    assert text == 'a;b\n"x;y";1\n'


def test_chunks_split_rows_and_only_the_first_has_the_header():
    """iter_csv_chunks yields ceil(n/chunk) chunks and the header once."""
    frame = pd.DataFrame({"a": range(5)})
    chunks = list(iter_csv_chunks(frame, chunk_rows=2))
    assert chunks == [b"a\n0\n1\n", b"2\n3\n", b"4\n"]


def test_chunks_are_lazy():
    """Nothing is formatted before the generator is advanced."""
    frame = pd.DataFrame({"a": range(10)})
    generator = iter_csv_chunks(frame, chunk_rows=3)
    assert next(generator) == b"a\n0\n1\n2\n"


def test_empty_frame_writes_only_the_header():
    """A frame with columns but no rows becomes a header line."""
    assert frame_to_csv(pd.DataFrame({"a": [], "b": []})) == "a,b\n"


def test_utf8_text_is_encoded_as_utf8():
    """Non-ASCII text is sent as UTF-8 bytes."""
    chunk = next(iter_csv_chunks(pd.DataFrame({"s": ["Zürich – 東京"]})))
    assert chunk.decode("utf-8") == "s\nZürich – 東京\n"


def test_duplicate_column_names_are_rejected():
    """Two columns with the same name cannot become one table."""
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValueError, match="duplicate"):
        frame_to_csv(frame)
