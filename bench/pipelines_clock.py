"""The benchmark's second no-op job (bench/run.sh --only python): copied into the runners' pipelines as
``pipelines.bench_clock``. Its result is the moment the function was entered, on the system clock PostgreSQL's
``created_at`` is read from (the same machine), so the report can say when the job's code really started, not
only when its runner claimed it."""

from __future__ import annotations

import time


def entered() -> float:
    """Returns the time it was called, in seconds since the epoch (``time.time()``); does nothing else."""
    return time.time()
