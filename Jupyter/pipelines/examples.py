"""Tiny jobs for checking a deployment and measuring the runner: they touch no data."""

from __future__ import annotations


def noop() -> None:
    """Does nothing: what the runner itself costs per job (the benchmark's job)."""
    return None


def echo(**parameters: object) -> dict[str, object]:
    """Returns its parameters: shows that they arrive as sent and the result comes back as JSON."""
    return dict(parameters)
