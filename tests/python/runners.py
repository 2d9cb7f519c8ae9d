"""Real runner processes (``python -m datastack.runner``) for the tests, configured like the AppHost configures the
runner container: the wiring contract of the live stack plus ``DATASTACK_RUNNER_*``, a pipelines folder of their own."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from stack import free_port, wait_healthy

REPO = pathlib.Path(__file__).resolve().parents[2]
SHIPPED_PIPELINES = REPO / "Jupyter" / "pipelines"
TEST_PIPELINES = pathlib.Path(__file__).resolve().parent / "runner_pipelines"


def make_pipelines(root: pathlib.Path) -> pathlib.Path:
    """A pipelines folder as the image has it (the shipped package), plus the tests' own (tests/python/runner_pipelines)."""
    folder = root / "pipelines"
    shutil.copytree(SHIPPED_PIPELINES, folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copytree(TEST_PIPELINES, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return folder


class RunnerProcess:
    """One runner; its console (stdout and stderr) goes to a log file the tests read."""

    def __init__(self, stack, pipelines: pathlib.Path, log: pathlib.Path, **settings: str) -> None:
        self.stack = stack
        self.pipelines = pipelines
        self.log = log
        self.port = free_port()
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "RunnerProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DATASTACK_RUNNER_"))}
        env.update(self.stack.contract_env())
        env.update(
            {
                "DATASTACK_RUNNER_PIPELINES": str(self.pipelines),
                "DATASTACK_RUNNER_HEALTH_PORT": str(self.port),
                "DATASTACK_RUNNER_SLOTS": "2",
                "DATASTACK_RUNNER_GRACE_SECONDS": "5",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.settings)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "datastack.runner"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_healthy()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def wait_healthy(self, timeout: float = 60) -> None:
        def probe() -> tuple[bool, str]:
            status, body = self.health()
            return status == 200 and body.get("ready") == body.get("slots"), f"{status} {body}"

        wait_healthy(self.process, self.log, "the runner", probe, timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, as a platform stops a replica; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL of the runner's main process only, as a crash or an evicted replica: nothing is reported."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.terminate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (ended, not yet reaped by its parent) counts as gone.
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def submit(stack, args):
    """POST /jobs as a traced caller would: with a W3C traceparent of a trace of the test's own."""
    import requests

    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    response = requests.post(
        stack.processing.url + "/jobs",
        json={"kind": "python", "args": args},
        headers={"Authorization": f"Bearer {stack.processing.api_key}", "traceparent": f"00-{trace_id}-{span_id}-01"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"], trace_id


def job_span(receiver, job_id):
    found = [s for s in receiver.spans if s.name == "job python" and s.attributes.get("datastack.job.id") == job_id]
    return found[-1] if found else None
