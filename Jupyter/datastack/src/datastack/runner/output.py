"""The runner's console: every line a job prints or logs, tagged with the job's id.

A worker process replaces ``sys.stdout`` and ``sys.stderr`` with :class:`TaggedStream`s over the runner's own
output, so ``print()``, ``logging`` and tracebacks of a job reach the runner's console (what the dashboard shows as
the runner's console logs) as ``[job <id>] text``. Output a job writes to the file descriptors directly (a C
extension, a subprocess) passes untagged.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import TextIO

RUNNER_TAG = "[runner] "


def job_tag(job_id: str) -> str:
    return f"[job {job_id}] "


class TaggedStream(io.TextIOBase):
    """A text stream that prefixes every line with the current tag and writes whole lines only.

    A line without its newline yet waits for the rest (or for ``flush()``), so lines of concurrent writers are not
    interleaved mid-line. Thread-safe: a job's threads share it.
    """

    def __init__(self, target: TextIO, tag: str = RUNNER_TAG) -> None:
        self._target = target
        self._tag = tag
        self._pending = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._target.fileno()

    def retag(self, tag: str) -> None:
        """Write out what the previous tag left unfinished, then tag the following lines with ``tag``."""
        with self._lock:
            self._write_pending()
            self._tag = tag

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            data = self._pending + text
            complete, _, self._pending = data.rpartition("\n")
            if _:
                self._target.write("".join(f"{self._tag}{line}\n" for line in complete.split("\n")))
                self._target.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        if self._pending:
            self._target.write(f"{self._tag}{self._pending}\n")
            self._pending = ""
        self._target.flush()


def install(tag: str = RUNNER_TAG, log_format: str = "%(levelname)s %(name)s: %(message)s") -> tuple[TaggedStream, TaggedStream]:
    """Replace sys.stdout and sys.stderr with tagged streams over the process's own. Log records below WARNING go to
    stdout and the rest to stderr: a console reader (the Aspire dashboard) shows stderr lines as errors."""
    out, err = TaggedStream(sys.__stdout__, tag), TaggedStream(sys.__stderr__, tag)
    sys.stdout, sys.stderr = out, err
    formatter = logging.Formatter(log_format)
    routine = logging.StreamHandler(out)
    routine.addFilter(lambda record: record.levelno < logging.WARNING)
    problems = logging.StreamHandler(err)
    problems.setLevel(logging.WARNING)
    for handler in (routine, problems):
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [routine, problems]
    return out, err


def retag(tag: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, TaggedStream):
            stream.retag(tag)


def write_tagged(stream: TextIO, tag: str, text: str) -> None:
    """Write ``text`` (several lines, e.g. a traceback) to ``stream`` with every line tagged ``tag``."""
    stream.write("".join(f"{tag}{line}\n" for line in text.rstrip("\n").split("\n")))
    stream.flush()
