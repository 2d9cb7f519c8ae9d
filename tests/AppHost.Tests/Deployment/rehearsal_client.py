"""The deployment rehearsal's client: what a notebook does against a deployed DataStack, run from the test machine.

Configured as the package always is (PROCESSING_HTTP, DATASTACK_API_KEY); prints one JSON line.

    rehearsal_client.py upload NAME ROWS   client.upload(DataFrame) of ROWS generated rows, mode replace; waits for the job
    rehearsal_client.py put NAME ROWS      the same body as one PUT, returning at its answer: the job and who served it
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid

import numpy as np
import pandas as pd
import requests

import datastack as ds
from datastack import columns


def frame(rows: int) -> pd.DataFrame:
    """Rows of every common dtype; row i is recognisable in the database (id = i, value = i / 4)."""
    ids = np.arange(rows, dtype="int64")
    return pd.DataFrame(
        {
            "id": ids,
            "value": ids / 4,
            "label": pd.Series([f"row {i}" for i in range(rows)], dtype="object"),
            "flag": ids % 3 == 0,
            "at": pd.Timestamp("2025-01-01") + pd.to_timedelta(ids, unit="s"),
        }
    )


class _Repeats(logging.Handler):
    """Counts the calls the package made again (its warnings), so the test knows a fault really hit this upload."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        print(record.getMessage(), file=sys.stderr)


def upload(name: str, rows: int) -> dict:
    repeats = _Repeats()
    logging.getLogger("datastack").addHandler(repeats)
    client = ds.connect(database=False, progress=False)
    dataset = client.upload(frame(rows), name, mode="replace")
    return {"dataset": dataset.name, "rows": dataset.row_count, "repeated": repeats.count}


def put(name: str, rows: int) -> dict:
    url = os.environ["PROCESSING_HTTP"].rstrip("/") + f"/datasets/{name}"
    response = requests.put(
        url,
        params={"mode": "replace"},
        data=columns.iter_column_chunks(frame(rows)),
        headers={
            "Authorization": f"Bearer {os.environ['DATASTACK_API_KEY']}",
            "Content-Type": columns.CONTENT_TYPE,
            "Idempotency-Key": f"rehearsal-{uuid.uuid4()}",
        },
        timeout=(10, 300),
    )
    if response.status_code != 202:
        raise SystemExit(f"PUT {url} answered {response.status_code}: {response.text[:500]}")
    return {"id": response.json()["id"], "servedBy": response.headers.get("X-Served-By")}


if __name__ == "__main__":
    command, dataset, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps({"upload": upload, "put": put}[command](dataset, count)))
