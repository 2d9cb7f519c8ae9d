"""The runner's probes on ``DATASTACK_RUNNER_HEALTH_PORT``: ``GET /alive`` and ``GET /health``.

``/alive`` answers 200 while the runner's loop runs. ``/health`` answers 200 when the runner can do its work: its
last call to Processing got an answer (or, before any, Processing's ``/alive`` answers now), the API key was not
refused, and it is not shutting down; 503 otherwise, with the reason in a JSON body.
"""

from __future__ import annotations

import http.server
import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Callable

_log = logging.getLogger("datastack.runner")

PROBE_TIMEOUT = 2.0


class HealthServer:
    """Serves the probes in a thread of its own; ``check()`` returns (healthy, reason, details)."""

    def __init__(self, port: int, check: Callable[[], tuple[bool, str, dict[str, object]]]) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version = "datastack-runner"

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                path = self.path.split("?", 1)[0]
                if path == "/alive":
                    self._answer(200, {"status": "alive"})
                elif path == "/health":
                    healthy, reason, details = owner.check()
                    self._answer(200 if healthy else 503, {"status": "healthy" if healthy else "unhealthy", "reason": reason, **details})
                else:
                    self._answer(404, {"status": "not found", "routes": ["/health", "/alive"]})

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (probes every few seconds: not logged)
                pass

        self.check = check
        self._server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="datastack-runner-health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def processing_alive(base_url: str) -> tuple[bool, str]:
    """Whether Processing's ``/alive`` answers 200 now."""
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/alive", timeout=PROBE_TIMEOUT) as response:
            return response.status == 200, f"Processing /alive answered {response.status}"
    except urllib.error.HTTPError as e:
        return False, f"Processing /alive answered {e.code}"
    except OSError as e:
        return False, f"Processing cannot be reached at {base_url}: {getattr(e, 'reason', e)}"
