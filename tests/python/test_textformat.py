"""Values as text (the columns upload's text fallback): the forms Processing's inference reads."""

import datetime as dt

from prereq import need

need("pandas", "numpy")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from datastack.textformat import format_series, format_value  # noqa: E402


def test_missing_values_are_none():
    """None, NaN, NaT and pd.NA are all NULL."""
    assert [format_value(v) for v in (None, float("nan"), np.float32("nan"), pd.NaT, pd.NA)] == [None] * 5


def test_booleans_are_lowercase_words():
    """Python and NumPy booleans become true/false."""
    assert [format_value(v) for v in (True, False, np.bool_(True))] == ["true", "false", "true"]


def test_integers_are_plain_digits():
    """Python and NumPy integers are written without a fraction, big ones in full."""
    assert [format_value(v) for v in (0, -7, np.int64(2**62), np.uint8(255), 10**30)] == ["0", "-7", str(2**62), "255", "1" + "0" * 30]


def test_floats_round_trip_and_infinities_are_spelled_out():
    """Floats use the shortest round-trip form; +-inf become Infinity/-Infinity."""
    written = [format_value(v) for v in (0.1, 1e-300, 2.0, float("inf"), float("-inf"), np.float32(0.5))]
    assert written == ["0.1", "1e-300", "2.0", "Infinity", "-Infinity", "0.5"]
    assert [float(w) for w in written[:3]] == [0.1, 1e-300, 2.0]


def test_datetimes_are_iso_8601_with_a_fraction_only_when_present():
    """Naive timestamps: 2024-01-05T08:13:00; microseconds when there are some; nanoseconds kept."""
    assert format_value(pd.Timestamp("2024-01-05 08:13:00")) == "2024-01-05T08:13:00"
    assert format_value(dt.datetime(2024, 1, 5, 8, 13, 0, 250000)) == "2024-01-05T08:13:00.250000"
    assert format_value(pd.Timestamp("2024-01-05 08:13:00.000000001")) == "2024-01-05T08:13:00.000000001"
    assert format_value(np.datetime64("2024-02-29T23:59:59")) == "2024-02-29T23:59:59"


def test_aware_datetimes_carry_their_offset():
    """tz-aware values are written with their UTC offset, DST included."""
    paris = pd.to_datetime(["2024-01-05 08:13:00", "2024-07-05 08:13:00"]).tz_localize("Europe/Paris")
    assert [format_value(t) for t in paris] == ["2024-01-05T08:13:00+01:00", "2024-07-05T08:13:00+02:00"]
    tz = dt.timezone(dt.timedelta(hours=-5))
    assert format_value(dt.datetime(2024, 1, 5, 8, 13, tzinfo=tz)) == "2024-01-05T08:13:00-05:00"


def test_dates_bytes_and_other_objects():
    """Dates are ISO 8601; bytes are decoded as UTF-8; anything else is str()."""
    assert format_value(dt.date(2024, 2, 29)) == "2024-02-29"
    assert format_value("Zürich".encode("utf-8")) == "Zürich"
    assert format_value(pd.Timedelta(hours=1)) == str(pd.Timedelta(hours=1))
    assert format_value(dt.time(8, 13)) == "08:13:00"


def test_a_series_of_mixed_values_is_formatted_value_by_value():
    """format_series gives each value's text and None where missing, keeping the index."""
    s = pd.Series([1, "a", None, 2.5, True, dt.date(2024, 1, 5)], index=[5, 6, 7, 8, 9, 10])
    formatted = format_series(s)
    assert formatted.tolist() == ["1", "a", None, "2.5", "true", "2024-01-05"]
    assert formatted.index.tolist() == [5, 6, 7, 8, 9, 10]
