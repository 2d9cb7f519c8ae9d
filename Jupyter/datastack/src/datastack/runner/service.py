"""The runner's main loop: claim jobs, hand them to warm workers, report how they ended, drain on SIGTERM.

Threads: the main thread owns the slots and the jobs (every change of state happens here; the others send it
commands); the claimer long-polls ``claims`` whenever there is room (claimer.py); the reporter and the heartbeat
talk to Processing in the background (reporting.py); the health server answers probes (health.py).

Room to claim: one job per idle worker; and while jobs are short, up to a batch (64) more held in the runner, as
many as the workers can start within a second (measured on the jobs so far). A held job that waited that long
without a worker goes back to the queue for another runner.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import re
import secrets
import signal
import socket
import sys
import time
from multiprocessing import connection
from typing import Any

from . import output
from .claimer import MAX_CLAIM, Claimer, Held
from .health import HealthServer, processing_alive
from .protocol import ProtocolClient
from .reporting import Heartbeat, Leases, Reporter
from .settings import RunnerSettings
from .slots import Slot, context
from .telemetry import JobSpans

_log = logging.getLogger("datastack.runner")

HOLD_SECONDS = 1.0  # the longest a claimed job waits in the runner for a worker before it goes back
STARTUP_FAILURES = 3  # workers dying before they are ready, in a row, before the runner gives up


def runner_name() -> str:
    """``host:pid:random``, the lease owner's name (the characters the protocol allows)."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:60] or "runner"
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"


class Runner:
    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self.name = runner_name()
        url, key = settings.processing_url, settings.api_key
        self.leases = Leases()
        self._claimer = Claimer(ProtocolClient(url, key, self.name), self.leases, settings.claim_wait_seconds, lambda jobs: self._command(("claimed", jobs)))
        self.reporter = Reporter(ProtocolClient(url, key, self.name), self.leases)
        self.heartbeat = Heartbeat(ProtocolClient(url, key, self.name), self.leases, self._heartbeat_answered)
        self.spans = JobSpans()
        self._commands: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._buffer: collections.deque[Held] = collections.deque()
        self._running: dict[str, Held] = {}
        self._slots: list[Slot] = []
        self._draining = False
        self._drain_deadline = 0.0
        self._average_run: float | None = None
        self._startup_failures = 0
        self.health: HealthServer | None = None

    # ------------------------------------------------------------------ life

    def run(self) -> int:
        ctx = context()
        self._slots = [Slot(ctx, i, str(self.settings.pipelines), self.settings.log_level) for i in range(self.settings.slots)]
        for slot in self._slots:
            slot.start()
        self.health = HealthServer(self.settings.health_port, self.check_health)
        self.health.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: self._command(("drain", signal.Signals(signum).name)))
        _log.info(
            "runner %s: %d slot(s), pipelines %s, Processing %s, health on :%d; %s",
            self.name, len(self._slots), self.settings.pipelines, self.settings.processing_url, self.health.port, self.spans.status,
        )
        self.reporter.start()
        self.heartbeat.start()
        self._claimer.start()
        try:
            self._loop()
        finally:
            self._shut_down()
        return 0

    def _loop(self) -> None:
        while True:
            self._handle_commands()
            self._start_held()
            if self._draining and (not self._running or time.monotonic() >= self._drain_deadline):
                self._return_running()
                return
            self._update_room()
            by_handle: dict[Any, tuple[str, Slot]] = {}
            for slot in self._slots:
                if slot.process is not None:
                    by_handle[slot.conn] = ("message", slot)
                    by_handle[slot.process.sentinel] = ("ended", slot)
            for handle in connection.wait([self._wake_r, *by_handle], self._next_wake()):
                if handle == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                what, slot = by_handle[handle]
                if what == "message":
                    self._receive(slot)
                elif slot.process is not None and slot.process.sentinel == handle:
                    self._worker_ended(slot)
            self._enforce_time_limits()
            if os.getpid() == 1:
                _reap_orphans()

    def _shut_down(self) -> None:
        self._claimer.stop()
        if not self.reporter.close(timeout=15.0):
            _log.error("%d outcome(s) could not be delivered to Processing before exit", self.reporter.pending())
        self.heartbeat.stop()
        for slot in self._slots:
            slot.stop(timeout=2.0)
        self.spans.flush()
        if self.health is not None:
            self.health.close()
        _log.info("runner %s stopped", self.name)

    # ------------------------------------------------------------------ commands from other threads and signals

    def _command(self, command: tuple[Any, ...]) -> None:
        self._commands.put(command)
        try:
            os.write(self._wake_w, b"!")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already

    def _handle_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if command[0] == "claimed":
                self._claimed(command[1])
            elif command[0] == "heartbeat":
                self._leases_checked(command[1], command[2])
            elif command[0] == "drain":
                self._begin_drain(command[1])

    def _claimed(self, jobs: list[dict[str, Any]]) -> None:
        self._claimer.taken(len(jobs))
        held = [Held(job) for job in jobs]
        if self._draining:
            self.reporter.give_back([h.id for h in held])
            return
        self._buffer.extend(held)

    def _leases_checked(self, answer: dict[str, bool], sent: set[str]) -> None:
        for job_id in sent:
            held = self._running.get(job_id) or next((h for h in self._buffer if h.id == job_id), None)
            if held is None:
                continue
            if job_id not in answer:
                _log.warning("job %s: its lease is no longer this runner's (expired?): stopped, it runs again elsewhere", job_id)
                self._stop(held, "lease_lost")
            elif answer[job_id]:
                _log.info("job %s: cancelled by a user: stopped", job_id)
                self._stop(held, "cancelled")

    def _heartbeat_answered(self, answer: dict[str, bool], sent: set[str]) -> None:
        if any(cancel for cancel in answer.values()) or len(answer) < len(sent):
            self._command(("heartbeat", answer, sent))

    # ------------------------------------------------------------------ claiming

    def _update_room(self) -> None:
        """How many more jobs the claimer may take now (see the module's docstring)."""
        ready = [s for s in self._slots if s.ready]
        idle = sum(1 for s in ready if s.job is None)
        prefetch = 0
        if self._average_run is not None and ready:
            prefetch = min(MAX_CLAIM, int(len(ready) * HOLD_SECONDS / max(self._average_run, 1e-4) / 2))
        arriving = self._claimer.arriving
        want = len(ready) + prefetch - len(self._running) - len(self._buffer) - arriving
        # Claim when a worker would otherwise go idle, or when at least half a batch fits.
        if self._draining or not (idle > len(self._buffer) + arriving or want >= max(1, prefetch // 2)):
            want = 0
        self._claimer.offer(want)

    # ------------------------------------------------------------------ running

    def _start_held(self) -> None:
        if self._draining:
            return
        for slot in self._slots:
            if not self._buffer:
                return
            if not slot.idle:
                continue
            held = self._buffer.popleft()
            held.slot, slot.job = slot, held
            held.started_at = time.monotonic()
            held.deadline = held.started_at + held.timeout if held.timeout else None
            held.span, span_parent = self.spans.start(held.job, held.target)
            self._running[held.id] = held
            slot.run(
                {"id": held.id, "args": held.args, "attempt": held.attempt, "maxAttempts": held.max_attempts,
                 "target": held.target, "spanParent": span_parent}
            )

    def _receive(self, slot: Slot) -> None:
        try:
            while slot.conn is not None and slot.conn.poll():
                message = slot.conn.recv()
                kind = message[0]
                if kind == "done":
                    self._done(slot, message[2])
                elif kind == "progress":
                    self.leases.progress(message[1], message[2], message[3])
                elif kind == "kernel":
                    slot.kernels.append(message[2])
                elif kind == "ready":
                    slot.ready = True
                    self._startup_failures = 0
        except (EOFError, OSError):
            pass  # the process ended: its sentinel says so next

    def _done(self, slot: Slot, outcome: tuple[Any, ...]) -> None:
        held = slot.job
        slot.job = None
        slot.kernels = []
        if held is None:
            return
        self._running.pop(held.id, None)
        took = time.monotonic() - held.started_at
        self._average_run = took if self._average_run is None else 0.8 * self._average_run + 0.2 * took
        if outcome[0] == "succeeded":
            self.reporter.succeeded(held.id, outcome[1])
            self.spans.end(held.span, "succeeded")
            _log.info("job %s succeeded in %s: %s (attempt %d)", held.id, _duration(took), held.target, held.attempt)
            return
        _, error, retryable = outcome
        self._report_failure(held, error, retryable, took)

    def _report_failure(self, held: Held, error: dict[str, Any], retryable: bool, took: float) -> None:
        again = retryable and held.attempt < held.max_attempts
        self.reporter.failed(held.id, held.attempt, retryable, error)
        self.spans.end(held.span, "retrying" if again else "failed", error)
        what = f"{error.get('type') or error.get('code')}: {error.get('message')}"
        then = "it will be retried" if again else "not retried" if not retryable else "no attempts left"
        _log.warning("job %s failed in %s: %s (attempt %d of %d, %s): %s", held.id, _duration(took), held.target, held.attempt, held.max_attempts, then, what)
        if error.get("traceback"):
            output.write_tagged(sys.__stderr__, output.job_tag(held.id), str(error["traceback"]))

    def _worker_ended(self, slot: Slot) -> None:
        """A worker died on its own (a crash, os._exit in a pipeline, the OOM killer): its job failed."""
        self._receive(slot)  # what it said before it went
        how = slot.exit_description()
        held, was_ready = slot.job, slot.ready
        slot.close()
        if held is not None:
            self._running.pop(held.id, None)
            error = {"code": "python_error", "type": "WorkerProcessEnded", "message": f"the process running the job {how}"}
            self._report_failure(held, error, True, time.monotonic() - held.started_at)
        elif not was_ready:
            self._startup_failures += 1
            _log.error("a worker process %s while starting (%d in a row)", how, self._startup_failures)
            if self._startup_failures >= STARTUP_FAILURES:
                raise RuntimeError(f"{STARTUP_FAILURES} worker processes in a row ended while starting (see above)")
        if not self._draining:
            slot.start()

    def _stop(self, held: Held, reason: str) -> None:
        """Stop a job: kill its worker (a fresh one takes the slot) and say why (timeout, cancelled, lease_lost, returned)."""
        if held.slot is None:
            self._buffer.remove(held)
        else:
            slot = held.slot
            slot.job = None
            slot.kill()
            self._running.pop(held.id, None)
            if not self._draining:
                slot.start()
        if reason == "timeout":
            error = {"code": "timeout", "message": f"the job ran longer than its timeout of {held.timeout:g} s: its process was killed"}
            self._report_failure(held, error, False, time.monotonic() - held.started_at)
            return
        self.spans.end(held.span, reason)
        if reason == "cancelled":
            self.reporter.cancelled(held.id)
        elif reason == "lease_lost":
            self.leases.release(held.id)
        # "returned": the caller gives them back together

    def _enforce_time_limits(self) -> None:
        now = time.monotonic()
        for held in [h for h in self._running.values() if h.deadline is not None and now >= h.deadline]:
            _log.warning("job %s: timeout after %g s: its process is killed", held.id, held.timeout)
            self._stop(held, "timeout")
        expired = [h for h in self._buffer if now - h.claimed_at >= HOLD_SECONDS and not any(s.idle for s in self._slots)]
        if expired:
            for held in expired:
                self._buffer.remove(held)
            self.reporter.give_back([h.id for h in expired])

    def _next_wake(self) -> float:
        now = time.monotonic()
        wake = now + 1.0
        for held in self._running.values():
            if held.deadline is not None:
                wake = min(wake, held.deadline)
        if self._buffer:
            wake = min(wake, self._buffer[0].claimed_at + HOLD_SECONDS)
        if self._draining:
            wake = min(wake, self._drain_deadline)
        return max(0.0, wake - now)

    # ------------------------------------------------------------------ shutdown

    def _begin_drain(self, signal_name: str) -> None:
        if self._draining:
            _log.warning("%s again: stopping the running jobs now", signal_name)
            self._drain_deadline = time.monotonic()
            return
        self._draining = True
        self._drain_deadline = time.monotonic() + self.settings.grace_seconds
        self._claimer.stop()
        waiting = [h.id for h in self._buffer]
        self._buffer.clear()
        self.reporter.give_back(waiting)
        _log.info(
            "%s: claiming nothing more; %d running job(s) get %g s to finish, %d waiting job(s) go back to the queue",
            signal_name, len(self._running), self.settings.grace_seconds, len(waiting),
        )

    def _return_running(self) -> None:
        left = list(self._running.values())
        if left:
            _log.warning("grace period over: %d job(s) stopped and returned to the queue: %s", len(left), ", ".join(h.id for h in left))
        for held in left:
            self._stop(held, "returned")
        self.reporter.give_back([h.id for h in left])

    # ------------------------------------------------------------------ health

    def check_health(self) -> tuple[bool, str, dict[str, object]]:
        details: dict[str, object] = {
            "runner": self.name,
            "slots": len(self._slots),
            "ready": sum(1 for s in self._slots if s.ready),
            "running": len(self._running),
        }
        if self._draining:
            return False, "shutting down", details
        if self._claimer.error is not None:
            return False, self._claimer.error, details
        if not self.heartbeat.ok:
            return False, "the last heartbeat got no answer from Processing", details
        if not self._claimer.answered:
            ok, reason = processing_alive(self.settings.processing_url)
            return ok, reason, details
        return True, "claiming from Processing", details


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _reap_orphans() -> None:
    """As PID 1 (the image's entrypoint) the runner inherits the processes whose parent died, e.g. the kernel of a
    notebook job whose worker was killed: collect their exit status, or they stay zombies. The runner's own children
    (the fork server, multiprocessing's resource tracker) only end when it does."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
