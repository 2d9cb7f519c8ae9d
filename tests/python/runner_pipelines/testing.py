"""TEST FIXTURE: pipelines that only the runner's tests run (copied next to the shipped ones in a temporary
pipelines folder): a failure that holds secrets, a job that sleeps, reports progress or prints, a function imported
from elsewhere, and a constant that is not a function."""

import logging
import os
import time
from os import system as imported_system  # noqa: F401 (a function that must not be runnable as pipelines.testing:imported_system)

from datastack import runner

log = logging.getLogger(__name__)

VERSION = 1


def fail(day: str) -> None:
    api_key = os.environ["DATASTACK_API_KEY"]
    password = os.environ["ANALYTICS_PASSWORD"]
    raise KeyError(f"no trips on {day} (asked with key {api_key} and password {password})")


def sleep(seconds: float, marker: str | None = None, first_attempt_seconds: float | None = None) -> dict[str, object]:
    """Prints its process id, sleeps (``first_attempt_seconds`` on attempt 1 when given), says which attempt it was."""
    job = runner.current_job()
    if first_attempt_seconds is not None and job is not None and job.attempt == 1:
        seconds = first_attempt_seconds
    print(f"sleeping {seconds} s in process {os.getpid()}", flush=True)
    if marker:
        with open(marker, "a") as f:
            f.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    return {"slept": seconds, "pid": os.getpid(), "attempt": job.attempt if job else None}


def progress(rows: int, then_sleep: float) -> int:
    runner.progress(rows=rows, bytes=rows * 10)
    time.sleep(then_sleep)
    return rows


def chatty(words: list[str]) -> int:
    """Prints, logs and writes to stderr, one line each."""
    print("printed:", " ".join(words))
    log.info("logged: %s", " ".join(words))
    os.sys.stderr.write("to stderr: " + " ".join(words) + "\n")
    return len(words)
