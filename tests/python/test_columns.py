"""DataFrame -> the binary columns upload format (docs/columns-format.md): the stream's layout, batching and limits, and the errors.

Values are read back with the independent decoder in columns_decoder.py; the encoding of each dtype is in
test_column_types.py.
"""

import datetime as dt
import json
import struct

import pytest

from prereq import need

need("pandas", "numpy")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from columns_decoder import decode, roundtrip  # noqa: E402
from datastack import columns  # noqa: E402
from datastack.columns import CONTENT_TYPE, batch_bounds, iter_column_chunks  # noqa: E402


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


def test_first_batches_are_small_and_double_up_to_chunk_rows():
    """The stream starts with FIRST_BATCH_ROWS rows so the server's COPY starts early, then doubles up to chunk_rows."""
    assert list(batch_bounds(100_000, chunk_rows=20_000)) == [
        (0, 4_096), (4_096, 12_288), (12_288, 28_672), (28_672, 48_672), (48_672, 68_672), (68_672, 88_672), (88_672, 100_000),
    ]
    assert list(batch_bounds(3_000, chunk_rows=100_000)) == [(0, 3_000)]
    assert list(batch_bounds(0, chunk_rows=100_000)) == []


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
