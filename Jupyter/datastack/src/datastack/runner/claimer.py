"""The claimer: a thread that long-polls ``claims`` whenever the runner has room, and hands the jobs over.

The runner's main thread says how much room there is (``offer``); the claimer asks for that many jobs, waiting on
the server up to ``waitSeconds`` for some. Jobs it received and the main thread has not taken yet count against the
room (``arriving``), so a quick second claim never takes more than fits. ``stop()`` ends a claim that is waiting:
the server sees the connection close and claims nothing for it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from .protocol import ProtocolClient, ProtocolError
from .slots import Slot
from .reporting import Leases

_log = logging.getLogger("datastack.runner")

MAX_CLAIM = 64  # the protocol's limit per claim
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0)


class Claimer(threading.Thread):
    def __init__(self, client: ProtocolClient, leases: Leases, wait_seconds: int, on_claimed: Callable[[list[dict[str, Any]]], None]) -> None:
        super().__init__(name="datastack-runner-claims", daemon=True)
        self._client = client
        self._leases = leases
        self._wait_seconds = wait_seconds
        self._on_claimed = on_claimed
        self._room = threading.Condition()
        self._want = 0
        self._arriving = 0
        self._stopped = threading.Event()
        self.error: str | None = None  # why the last claim failed; None once one succeeds
        self.answered = False  # a claim has been answered

    @property
    def arriving(self) -> int:
        with self._room:
            return self._arriving

    def offer(self, want: int) -> None:
        """The main thread's room for more jobs (beyond those arriving)."""
        with self._room:
            if want != self._want:
                self._want = want
                self._room.notify()

    def taken(self, count: int) -> None:
        """The main thread took ``count`` arriving jobs."""
        with self._room:
            self._arriving -= count

    def stop(self) -> None:
        self._stopped.set()
        with self._room:
            self._room.notify()
        self._client.abort()

    def run(self) -> None:
        failures = 0
        while True:
            with self._room:
                while not self._stopped.is_set() and self._want <= 0:
                    self._room.wait()
                if self._stopped.is_set():
                    return
                want = min(MAX_CLAIM, self._want)
            try:
                lease, jobs = self._client.claim(want, self._wait_seconds)
            except ProtocolError as e:
                if self._stopped.is_set():
                    return
                self.error = str(e)
                pause = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                _log.warning("claim: %s; claiming again in %g s", e, pause)
                self._stopped.wait(pause)
                continue
            failures = 0
            self.answered, self.error = True, None
            if jobs:
                self._leases.lease_seconds = lease
                for job in jobs:
                    self._leases.add(str(job["id"]))
                with self._room:
                    self._arriving += len(jobs)
                    self._want -= len(jobs)
                self._on_claimed(jobs)


class Held:
    """A claimed job, from its claim until its outcome was handed to the reporter."""

    def __init__(self, job: dict[str, Any]) -> None:
        args = job.get("args") if isinstance(job.get("args"), dict) else {}
        self.job = job
        self.id = str(job["id"])
        self.args = args
        self.target = str(args.get("notebook") or args.get("entrypoint") or "?")
        self.attempt = int(job.get("attempt") or 1)
        self.max_attempts = int(job.get("maxAttempts") or 1)
        timeout = job.get("timeoutSeconds")
        self.timeout = float(timeout) if isinstance(timeout, (int, float)) and timeout > 0 else None
        self.claimed_at = time.monotonic()
        self.started_at = 0.0
        self.deadline: float | None = None
        self.slot: Slot | None = None
        self.span: Any = None
