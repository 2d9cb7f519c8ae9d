"""What the runner reads: the wiring contract (as ``ds.connect()`` does) and its own ``DATASTACK_RUNNER_*`` settings.

The database variables (``ANALYTICS_*``, ``ConnectionStrings__analytics``) are not read here: they are passed on
untouched to the jobs, whose ``ds.connect()`` reads them exactly as in a notebook.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field
from typing import Mapping

from .. import config
from ..errors import ConfigurationError

SLOTS = "DATASTACK_RUNNER_SLOTS"
GRACE_SECONDS = "DATASTACK_RUNNER_GRACE_SECONDS"
HEALTH_PORT = "DATASTACK_RUNNER_HEALTH_PORT"
PIPELINES = "DATASTACK_RUNNER_PIPELINES"
LOG_LEVEL = "DATASTACK_RUNNER_LOG_LEVEL"

DEFAULT_GRACE_SECONDS = 20.0
DEFAULT_HEALTH_PORT = 8080
# The longest a claim waits on the server for work (the protocol allows 60 s); a shutdown cuts it short.
CLAIM_WAIT_SECONDS = 20
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class RunnerSettings:
    """Everything the runner needs; ``repr`` never shows the API key."""

    processing_url: str
    api_key: str | None = field(repr=False)
    pipelines: pathlib.Path
    slots: int
    grace_seconds: float
    health_port: int
    log_level: str = "INFO"
    claim_wait_seconds: int = CLAIM_WAIT_SECONDS

    @property
    def pipelines_root(self) -> pathlib.Path:
        """The folder that holds the ``pipelines`` package: on the jobs' ``sys.path``, and what notebook paths
        (``pipelines/report.ipynb``) are relative to."""
        return self.pipelines.parent


def resolve(env: Mapping[str, str] | None = None) -> RunnerSettings:
    """Read the settings; one ConfigurationError lists every problem at once."""
    env = os.environ if env is None else env
    problems: list[str] = []
    url: str | None = None
    try:
        url, _ = config.resolve_processing(None, env)
    except ConfigurationError as e:
        problems.append(str(e))
    else:
        if url is None:
            problems.append(f"Processing: set {config.PROCESSING_HTTP} or {config.PROCESSING_SERVICE} (http://host:port)")
    key = env.get(config.API_KEY)
    if key is None:
        problems.append(f'the API key: set {config.API_KEY} (empty for a Processing started with Processing__AllowAnonymous=true)')
    slots = _number(env, SLOTS, os.cpu_count() or 1, int, 1, 64, problems)
    grace = _number(env, GRACE_SECONDS, DEFAULT_GRACE_SECONDS, float, 0, 3600, problems)
    port = _number(env, HEALTH_PORT, DEFAULT_HEALTH_PORT, int, 0, 65535, problems)
    level = env.get(LOG_LEVEL, "INFO").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        problems.append(f"{LOG_LEVEL} must be one of {', '.join(LOG_LEVELS)} (got {level!r})")
    pipelines = _pipelines(env, problems)
    if problems:
        raise ConfigurationError("the runner is not configured: " + "; ".join(problems))
    assert url is not None and pipelines is not None
    return RunnerSettings(url, key or None, pipelines, slots, grace, port, level)


def _number(env: Mapping[str, str], name: str, default, kind, low, high, problems: list[str]):
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        problems.append(f"{name} must be a number (got {text!r})")
        return default
    if not low <= value <= high:
        problems.append(f"{name} must be between {low} and {high} (got {text})")
        return default
    return value


def _pipelines(env: Mapping[str, str], problems: list[str]) -> pathlib.Path | None:
    """The ``pipelines`` package folder: ``DATASTACK_RUNNER_PIPELINES``, else ``./pipelines``."""
    text = env.get(PIPELINES, "").strip()
    path = pathlib.Path(text or "pipelines").absolute()
    where = f"{PIPELINES}={text}" if text else f"{path} ({PIPELINES} is not set)"
    if path.name != "pipelines":
        problems.append(f"{where}: the folder must be named 'pipelines' (jobs name it: pipelines.module:function)")
    elif not (path / "__init__.py").is_file():
        problems.append(f"{where} is not a Python package (no __init__.py there)")
    else:
        return path
    return None
