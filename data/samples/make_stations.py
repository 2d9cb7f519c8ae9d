"""Regenerate stations.columns: a tiny body in the columns upload format (docs/columns-format.md).

Processing.http uploads it to show the format DataFrames travel in. Run from the repository root with the
datastack package importable: PYTHONPATH=Jupyter/datastack/src /usr/bin/python3 data/samples/make_stations.py
"""

import pathlib

import pandas as pd

from datastack import columns

FRAME = pd.DataFrame(
    {
        "id": pd.Series([1, 2, 3], dtype="int64"),
        "name": ["Central", "Harbour", None],
        "opened": pd.to_datetime(["2019-03-01", "2021-07-15", "2024-01-05"]),
        "bikes": [24.5, 12.0, float("nan")],
        "active": [True, False, True],
    }
)


def main() -> None:
    target = pathlib.Path(__file__).with_name("stations.columns")
    target.write_bytes(b"".join(columns.iter_column_chunks(FRAME)))
    print(f"wrote {target} ({target.stat().st_size} bytes, {len(FRAME)} rows)")


if __name__ == "__main__":
    main()
