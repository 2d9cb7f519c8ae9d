#!/usr/bin/env python3
"""One timed run of one pandas contender, for bench/DataStack.Bench (section 2).

    pandas_bench.py upload       --rows N --processing-url URL [--repeat K]   (API key in DATASTACK_API_KEY)
    pandas_bench.py to_sql       --rows N --analytics-uri postgresql://...   (postgresql+psycopg://, or +psycopg2 on SQLAlchemy 1.4)
    pandas_bench.py to_sql_multi --rows N --analytics-uri postgresql://...
    pandas_bench.py to_csv_copy  --rows N --analytics-uri postgresql://...   (df.to_csv into psycopg's COPY FROM STDIN)

Builds a deterministic DataFrame and imports the contender's libraries (neither timed: a notebook has both
before it writes), times only the contender's call, and prints one JSON line:
{"contender": ..., "rows": N, "seconds": S}; with --repeat K the call runs K times and S is the last one's
(the bench's warm-up). Exit status 3 means a prerequisite is missing (the message says which).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

DRIVER = ["datastack (requests)"]
HERE = os.path.dirname(os.path.abspath(__file__))
DATASTACK_SRC = os.path.join(HERE, "..", "Jupyter", "datastack", "src")


def make_frame(rows: int, seed: int = 42) -> pd.DataFrame:
    """The same 8 column kinds as the CSV of section 1: ints, timestamps, text with commas, doubles, booleans, NULLs."""
    rng = np.random.default_rng(seed)
    last = np.array(["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"], dtype=object)
    first = np.array(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"], dtype=object)
    comments = np.array(["ok", "late delivery, refunded", 'said "thanks"', "gift", None], dtype=object)
    quantity = pd.array(rng.integers(0, 500, rows), dtype="Int64")
    quantity[rng.random(rows) < 0.1] = pd.NA
    score = rng.random(rows)
    score[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(1, rows + 1, dtype=np.int64),
            "event_time": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows) * 3 + rng.integers(0, 3, rows), unit="s"),
            "customer": last[rng.integers(0, len(last), rows)] + ", " + first[rng.integers(0, len(first), rows)],
            "amount": rng.integers(-100_000, 1_000_000, rows) / 100.0,
            "active": rng.random(rows) < 0.5,
            "quantity": quantity,
            "comment": comments[rng.integers(0, len(comments), rows)],
            "score": score,
        }
    )


def prepare_upload(url: str) -> Callable[[pd.DataFrame], None]:
    sys.path.insert(0, DATASTACK_SRC)
    try:
        import datastack
    except ImportError as e:
        print(f"datastack package not importable from {DATASTACK_SRC}: {e}", file=sys.stderr)
        sys.exit(3)

    def run(frame: pd.DataFrame) -> None:
        client = datastack.connect(processing_url=url, api_key=os.environ["DATASTACK_API_KEY"], database=False, progress=False)
        dataset = client.upload(frame, "bench_upload", mode="replace")
        if dataset.row_count != len(frame):
            raise SystemExit(f"upload stored {dataset.row_count} rows, expected {len(frame)}")

    return run


def prepare_to_sql(uri: str, multi: bool) -> Callable[[pd.DataFrame], None]:
    try:
        import sqlalchemy
    except ImportError:
        print("SQLAlchemy is missing: apt-get install python3-sqlalchemy", file=sys.stderr)
        sys.exit(3)
    try:
        # The psycopg (3) dialect needs SQLAlchemy 2.0; Debian bookworm ships 1.4, whose PostgreSQL driver
        # is psycopg2 (apt-get install python3-psycopg2). The driver used is reported with the timing.
        engine = sqlalchemy.create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    except sqlalchemy.exc.NoSuchModuleError:
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            print(
                f"SQLAlchemy {sqlalchemy.__version__} has no psycopg (3) dialect and psycopg2 is missing: "
                "apt-get install python3-psycopg2 (or SQLAlchemy >= 2.0)",
                file=sys.stderr,
            )
            sys.exit(3)
        engine = sqlalchemy.create_engine(uri.replace("postgresql://", "postgresql+psycopg2://", 1))
    DRIVER[0] = f"SQLAlchemy {sqlalchemy.__version__} + {engine.dialect.driver}"

    def run(frame: pd.DataFrame) -> None:
        # An engine connects lazily: the connection is opened inside the timed call.
        try:
            if multi:
                # 1,000 rows x 8 columns = 8,000 bind parameters per INSERT (PostgreSQL allows 65,535).
                frame.to_sql("bench_to_sql", engine, if_exists="replace", index=False, method="multi", chunksize=1000)
            else:
                frame.to_sql("bench_to_sql", engine, if_exists="replace", index=False)
        finally:
            engine.dispose()

    return run


# The table an experienced user writes by hand for the frame: the types upload() derives from the dtypes.
TO_CSV_COPY_TABLE = """
CREATE TABLE bench_to_csv_copy (
    id bigint, event_time timestamp, customer text, amount double precision,
    active boolean, quantity bigint, comment text, score double precision
)
"""


def prepare_to_csv_copy(uri: str) -> Callable[[pd.DataFrame], None]:
    """The idiom pandas users write when to_sql is too slow: to_csv into a buffer, psycopg's COPY FROM STDIN.

    Timed like upload(mode='replace'): the table is (re)made, the frame formatted and copied, the transaction
    committed. Empty fields (None, NaN, <NA>) are NULL in COPY's CSV format.
    """
    import io

    import psycopg

    DRIVER[0] = f"psycopg {psycopg.__version__}"

    def run(frame: pd.DataFrame) -> None:
        with psycopg.connect(uri) as connection, connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_to_csv_copy")
            cursor.execute(TO_CSV_COPY_TABLE)
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            buffer.seek(0)
            with cursor.copy("COPY bench_to_csv_copy FROM STDIN WITH (FORMAT csv)") as copy:
                while chunk := buffer.read(1 << 20):
                    copy.write(chunk)
            copied = cursor.rowcount  # the COPY's own row count (psycopg >= 3.1), no extra scan in the timed part
        if copied != len(frame):
            raise SystemExit(f"to_csv + COPY stored {copied} rows, expected {len(frame)}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=["upload", "to_sql", "to_sql_multi", "to_csv_copy"])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--processing-url")
    parser.add_argument("--analytics-uri")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    frame = make_frame(args.rows)
    if args.contender == "upload":
        run = prepare_upload(args.processing_url)
    elif args.contender == "to_csv_copy":
        run = prepare_to_csv_copy(args.analytics_uri)
    else:
        run = prepare_to_sql(args.analytics_uri, multi=args.contender == "to_sql_multi")
    for _ in range(args.repeat):
        started = time.perf_counter()
        run(frame)
        seconds = time.perf_counter() - started
    print(json.dumps({"contender": args.contender, "rows": args.rows, "seconds": seconds, "driver": DRIVER[0]}))


if __name__ == "__main__":
    main()
