"""The runner protocol (docs/runners.md): claims, heartbeats, completions, failures, cancellations, returns.

One :class:`ProtocolClient` per thread, each holding one keep-alive connection to Processing. It is written on
``http.client`` rather than ``requests`` for one reason: a claim waits on the server for up to 20 s, and a shutdown
must cut that wait short, which needs the socket (``abort()`` shuts it down from another thread). Completions
are sent as JSON text put together from the results the workers already encoded, so a result is encoded once.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from typing import Any
from urllib.parse import quote, urlsplit

from ..config import API_KEY
from ..redaction import scrub

USER_AGENT = "datastack-runner/0.1"
CONNECT_TIMEOUT = 10.0
# A call's answer may take this long beyond what it asked the server to wait.
READ_MARGIN = 30.0


class ProtocolError(Exception):
    """A call failed: ``status`` is the HTTP status (None when there was no answer); ``retry`` whether to try again."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retry(self) -> bool:
        return self.status is None or self.status in (408, 429) or self.status >= 500


class ProtocolClient:
    """Calls Processing's runner routes for one runner name."""

    def __init__(self, base_url: str, api_key: str | None, runner: str) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/") + f"/runners/{quote(runner, safe='')}"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._aborted = False

    # ------------------------------------------------------------------ the routes

    def claim(self, max_jobs: int, wait_seconds: int, queue: str = "python") -> tuple[float, list[dict[str, Any]]]:
        body = json.dumps({"queue": queue, "max": max_jobs, "waitSeconds": wait_seconds})
        answer = self._call("/claims", body, read_timeout=wait_seconds + READ_MARGIN)
        return float(answer.get("leaseSeconds") or 30), list(answer.get("jobs") or [])

    def heartbeat(self, progress: dict[str, tuple[int, int]]) -> dict[str, bool]:
        """Renew the leases; the answer maps each job still ours to whether a cancel was requested."""
        jobs = [{"id": i, "progress": {"rows": rows, "bytes": size}} for i, (rows, size) in progress.items()]
        answer = self._call("/heartbeat", json.dumps({"jobs": jobs}))
        return {str(j["id"]): bool(j.get("cancelRequested")) for j in answer.get("jobs") or []}

    def complete(self, results: list[tuple[str, str, tuple[int, int] | None]]) -> set[str]:
        """Record jobs succeeded; ``results`` are (id, result as JSON text, final (rows, bytes) or None to keep the
        progress the last heartbeat carried). Returns the ids recorded."""
        items = ",".join(
            f'{{"id":{json.dumps(i)},"result":{text}'
            + (f',"progress":{{"rows":{progress[0]},"bytes":{progress[1]}}}' if progress is not None else "")
            + "}"
            for i, text, progress in results
        )
        answer = self._call("/completions", f'{{"jobs":[{items}]}}')
        return {str(i) for i in answer.get("completed") or []}

    def fail(self, job_id: str, attempt: int, retryable: bool, error: dict[str, Any]) -> str | None:
        """Report a failed attempt: 'queued' (to be retried), 'failed', or None when the job is not ours any more."""
        body = json.dumps({"attempt": attempt, "retryable": retryable, "error": error})
        try:
            return str(self._call(f"/jobs/{quote(job_id, safe='')}/failure", body).get("status"))
        except ProtocolError as e:
            if e.status == 409:
                return None
            raise

    def cancelled(self, job_id: str) -> bool:
        """Report a job stopped after a cancel request; False when it is not ours any more."""
        try:
            self._call(f"/jobs/{quote(job_id, safe='')}/cancelled", "{}")
            return True
        except ProtocolError as e:
            if e.status == 409:
                return False
            raise

    def give_back(self, ids: list[str]) -> int:
        """Return jobs to the queue at once, their attempt not counted (a runner shutting down)."""
        return int(self._call("/returns", json.dumps({"ids": ids})).get("returned") or 0)

    # ------------------------------------------------------------------ plumbing

    def abort(self) -> None:
        """Cut a call in progress short (from another thread); later calls fail at once."""
        with self._lock:
            self._aborted = True
            conn = self._conn
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self, read_timeout: float) -> http.client.HTTPConnection:
        with self._lock:
            if self._aborted:
                raise ProtocolError("the runner is shutting down")
            if self._conn is None:
                if self._https:
                    self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=CONNECT_TIMEOUT, context=ssl.create_default_context())
                else:
                    self._conn = http.client.HTTPConnection(self._host, self._port, timeout=CONNECT_TIMEOUT)
            conn = self._conn
        if conn.sock is None:
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(read_timeout)
        return conn

    def _call(self, route: str, body: str, read_timeout: float = READ_MARGIN) -> dict[str, Any]:
        path = self._prefix + route
        try:
            conn = self._connection(read_timeout)
            conn.request("POST", path, body=body.encode("utf-8"), headers=self._headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise ProtocolError(f"POST {route}: no answer from Processing ({type(e).__name__}: {scrub(str(e))})") from None
        if response.status >= 400:
            hint = ""
            if response.status == 401:
                hint = f" (the key in {API_KEY} was refused)" if "Authorization" in self._headers else f" ({API_KEY} is empty)"
            raise ProtocolError(f"POST {route}: Processing answered {response.status} {_problem(data)}{hint}", response.status)
        if not data:
            return {}
        try:
            answer = json.loads(data)
        except ValueError:
            raise ProtocolError(f"POST {route}: the answer is not JSON: {data[:200]!r}", response.status) from None
        return answer if isinstance(answer, dict) else {}


def _problem(data: bytes) -> str:
    """The title and detail of a problem-details answer, or the start of the body."""
    try:
        problem = json.loads(data)
    except ValueError:
        return scrub(data[:300].decode("utf-8", "replace"))
    if not isinstance(problem, dict):
        return ""
    parts = [str(problem.get(k)) for k in ("title", "detail") if problem.get(k)]
    errors = problem.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for field, v in errors.items()]
    return scrub(" — ".join(parts))
