"""The runner's two background conversations with Processing: reporting how jobs ended, and keeping leases.

:class:`Reporter` sends every outcome, in order of arrival: successes together in one ``completions`` call (what
arrives while a call is on its way goes in the next one, so a busy runner needs few calls), failures, cancellations
and returns one by one. An outcome is tried again while Processing cannot be reached: it is never dropped before
the runner exits.

:class:`Leases` holds the jobs the runner owns (claimed, until their outcome was delivered) and their progress;
:class:`Heartbeat` renews them every ``leaseSeconds / 3`` and tells the runner which jobs a user cancelled and
which are no longer its own.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable

from .protocol import ProtocolClient, ProtocolError

_log = logging.getLogger("datastack.runner")

RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)
# After this long without getting an outcome through, the job's lease has long expired: it runs again elsewhere.
GIVE_UP_SECONDS = 600.0
# How often the heartbeat thread looks at the clock (and at a stop request).
TICK_SECONDS = 0.25


class Leases:
    """Jobs held under a lease, with their progress (rows, bytes). Shared by the threads; every access locks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[int, int]] = {}
        self.lease_seconds = 30.0

    def add(self, job_id: str) -> None:
        with self._lock:
            self._jobs.setdefault(job_id, (0, 0))

    def progress(self, job_id: str, rows: int | None, size: int | None) -> None:
        with self._lock:
            if job_id in self._jobs:
                old_rows, old_size = self._jobs[job_id]
                self._jobs[job_id] = (old_rows if rows is None else rows, old_size if size is None else size)

    def release(self, *job_ids: str) -> None:
        with self._lock:
            for job_id in job_ids:
                self._jobs.pop(job_id, None)

    def snapshot(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            return dict(self._jobs)


class Reporter(threading.Thread):
    """Sends outcomes in the background; ``close()`` waits until everything queued was delivered."""

    def __init__(self, client: ProtocolClient, leases: Leases) -> None:
        super().__init__(name="datastack-runner-reporter", daemon=True)
        self._client = client
        self._leases = leases
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self._wake = threading.Condition()
        self._closing = False

    def succeeded(self, job_id: str, result_json: str) -> None:
        self._put(("complete", job_id, result_json))

    def failed(self, job_id: str, attempt: int, retryable: bool, error: dict[str, Any]) -> None:
        self._put(("fail", job_id, attempt, retryable, error))

    def cancelled(self, job_id: str) -> None:
        self._put(("cancelled", job_id))

    def give_back(self, job_ids: list[str]) -> None:
        if job_ids:
            self._put(("return", list(job_ids)))

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def close(self, timeout: float) -> bool:
        """Deliver what is queued (for at most ``timeout`` seconds) and stop; False if some was left."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self.join(timeout)
        return not self.is_alive() and not self._queue

    def _put(self, item: tuple[Any, ...]) -> None:
        with self._wake:
            self._queue.append(item)
            self._wake.notify()

    def run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closing:
                    self._wake.wait()
                if not self._queue:
                    return
                first = self._queue[0]
                if first[0] == "complete":
                    batch = []
                    while self._queue and self._queue[0][0] == "complete" and len(batch) < 1000:
                        batch.append(self._queue.popleft())
                else:
                    batch = [self._queue.popleft()]
            self._deliver(batch)

    def _deliver(self, batch: list[tuple[Any, ...]]) -> None:
        started, tries = time.monotonic(), 0
        while True:
            try:
                self._send(batch)
                return
            except ProtocolError as e:
                # A "return" item carries several jobs, the others one.
                job_ids = [i for item in batch for i in (item[1] if item[0] == "return" else [item[1]])]
                if not e.retry or time.monotonic() - started > GIVE_UP_SECONDS:
                    _log.error("%s; not recorded: %s (their leases expire and they run again)", e, ", ".join(map(str, job_ids)))
                    self._leases.release(*job_ids)
                    return
                pause = RETRY_DELAYS[min(tries, len(RETRY_DELAYS) - 1)]
                if tries < len(RETRY_DELAYS) or tries % 12 == 0:
                    _log.warning("%s; trying again in %g s (%s)", e, pause, ", ".join(map(str, job_ids)))
                tries += 1
                time.sleep(pause)

    def _send(self, batch: list[tuple[Any, ...]]) -> None:
        kind = batch[0][0]
        if kind == "complete":
            # The progress a job reported last goes with its success: a heartbeat may not have carried it yet.
            progress = self._leases.snapshot()
            completed = self._client.complete([(b[1], b[2], progress.get(b[1])) for b in batch])
            lost = [b[1] for b in batch if b[1] not in completed]
            if lost:
                _log.warning("not recorded as succeeded (their leases had expired; they run again elsewhere): %s", ", ".join(lost))
            self._leases.release(*(b[1] for b in batch))
        elif kind == "fail":
            _, job_id, attempt, retryable, error = batch[0]
            status = self._client.fail(job_id, attempt, retryable, error)
            if status is None:
                _log.warning("job %s: failure not recorded, the job is no longer this runner's", job_id)
            self._leases.release(job_id)
        elif kind == "cancelled":
            self._client.cancelled(batch[0][1])
            self._leases.release(batch[0][1])
        else:
            returned = self._client.give_back(batch[0][1])
            _log.info("returned %d job(s) to the queue: %s", returned, ", ".join(batch[0][1]))
            self._leases.release(*batch[0][1])


class Heartbeat(threading.Thread):
    """Renews the leases of the held jobs; calls ``on_answer(still_ours: dict[id, cancel_requested], sent_ids)``."""

    def __init__(self, client: ProtocolClient, leases: Leases, on_answer: Callable[[dict[str, bool], set[str]], None]) -> None:
        super().__init__(name="datastack-runner-heartbeat", daemon=True)
        self._client = client
        self._leases = leases
        self._on_answer = on_answer
        self._stop = threading.Event()
        self.ok = True

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        # Every leaseSeconds / 3 (at least 1 s). The lease is only known from the first claim's answer, so the interval is
        # read again at every tick rather than fixed when the thread starts (30 s until then: a 10 s first wait).
        last = time.monotonic()
        while not self._stop.wait(TICK_SECONDS):
            if time.monotonic() - last < max(1.0, self._leases.lease_seconds / 3):
                continue
            last = time.monotonic()
            held = self._leases.snapshot()
            if not held:
                continue
            try:
                answer = self._client.heartbeat(held)
                self.ok = True
            except ProtocolError as e:
                self.ok = False
                _log.warning("heartbeat: %s (the leases of %d job(s) were not renewed)", e, len(held))
                continue
            self._on_answer(answer, set(held))
