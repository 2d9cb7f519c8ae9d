"""Prerequisite checks: a missing dependency fails loudly with the Debian package to install, never skips."""

from __future__ import annotations

import importlib

import pytest

# module -> Debian bookworm package (the tests run under /usr/bin/python3).
APT_PACKAGES = {
    "pandas": "python3-pandas",
    "numpy": "python3-numpy",
    "psycopg": "python3-psycopg",
    "requests": "python3-requests",
    "tqdm": "python3-tqdm",
    "IPython": "python3-ipython",
    "ipykernel": "python3-ipykernel",
    "nbclient": "python3-nbclient",
    "nbformat": "python3-nbformat",
    "matplotlib": "python3-matplotlib",
}


def need(*modules: str) -> None:
    """Import each module or fail the test run with 'apt-get install <package>'."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        packages = " ".join(APT_PACKAGES.get(m, f"python3-{m.lower()}") for m in missing)
        pytest.fail(
            f"missing Python modules {', '.join(missing)} for /usr/bin/python3: apt-get install -y {packages}",
            pytrace=False,
        )
