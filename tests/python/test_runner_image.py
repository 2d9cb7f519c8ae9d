"""The runner image: Jupyter/Dockerfile's last stage, built offline on a plain Python base with no Jupyter in it (the
Debian stand-in), run as a deployment runs its container, against the live Processing."""

import datetime as dt
import os
import shutil
import subprocess
import uuid

import pytest

from prereq import need, unavailable

need("pandas", "psycopg", "requests", "nbformat")

import psycopg  # noqa: E402

from runners import REPO  # noqa: E402
from stack import eventually  # noqa: E402
from stack import free_port  # noqa: E402

BASE_IMAGE = os.environ.get("Runner__BaseImage") or "datastack-standin/python:trixie"


def docker(*args, check=True, timeout=300):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def need_docker():
    """Docker and the base image, or a failure on CI (a skip elsewhere) naming what is missing."""
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        problem = "no Docker engine answers ('docker info' failed): tests/images/install-docker.sh"
    elif subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode != 0:
        problem = f"the base image {BASE_IMAGE} is missing: tests/images/build-standins.sh python (or set Runner__BaseImage, the AppHost's setting)"
    else:
        return
    unavailable(problem)


@pytest.fixture(scope="module")
def image():
    need_docker()
    tag = f"datastack-runner-test:{uuid.uuid4().hex[:12]}"
    # No --target: a deployment tool that builds the Dockerfile as it is gets the runner (the last stage).
    built = docker("build", "-t", tag, "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", "PIP_INDEX_URL=none", str(REPO / "Jupyter"), check=False, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    yield tag
    docker("image", "rm", "-f", tag, check=False)


@pytest.fixture
def container(stack, image):
    """The runner container with the wiring contract only (Processing and the database reached on the host network)."""
    name, port = f"datastack-runner-test-{uuid.uuid4().hex[:8]}", free_port()
    environment = [arg for key, value in stack.contract_env().items() for arg in ("-e", f"{key}={value}")]
    docker("run", "-d", "--name", name, "--network", "host", *environment, "-e", f"DATASTACK_RUNNER_HEALTH_PORT={port}", image)
    yield name, port
    docker("rm", "-f", name, check=False)


def test_the_runner_image_runs_both_kinds_of_job_as_a_non_root_user_and_stops_cleanly(stack, client, container, image, name):
    """On a plain Python base: no Jupyter server in the image, the runner healthy as a non-root user, a function job
    and a notebook job done (checked in PostgreSQL), and docker stop (SIGTERM) ends it with exit code 0."""
    container_name, port = container
    assert docker("run", "--rm", "--entrypoint", "sh", image, "-c", "command -v jupyter-lab jupyter-server jupyter-notebook", check=False).returncode != 0
    eventually(
        lambda: docker("exec", container_name, "python", "-c", f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/health')", check=False).returncode == 0,
        60,
        "the runner container's /health to answer 200",
        interval=0.5,
    )
    assert docker("exec", container_name, "id", "-u").stdout.strip() not in ("", "0")

    client.upload(str(REPO / "data" / "samples" / "trips.csv"), name)
    summary = client.run("pipelines.daily:summary", day="2024-01-05", source=name, target=name + "_z", timeout=120)
    executed = client.run_notebook("pipelines/report.ipynb", parameters={"day": "2024-01-05", "source": name}, timeout=120)

    start = dt.date(2024, 1, 5)
    with psycopg.connect(stack.postgres.uri) as conn:
        trips = conn.execute(f"select count(*) from datasets.{name} where pickup_at >= %s and pickup_at < %s", (start, start + dt.timedelta(days=1))).fetchone()[0]
        assert conn.execute(f"select sum(trips) from datasets.{name}_z").fetchone()[0] == trips
    assert summary["trips"] == trips
    assert executed.cells[-1].outputs[0]["text"].startswith(f"2024-01-05: {trips} trips")

    docker("stop", "-t", "30", container_name)
    assert docker("inspect", "-f", "{{.State.ExitCode}}", container_name).stdout.strip() == "0"
    logs = docker("logs", container_name)
    assert "stopped" in logs.stdout  # the runner's own INFO lines go to stdout, warnings and errors to stderr
    assert "INFO" not in logs.stderr
