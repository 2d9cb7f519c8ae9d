"""Runners under faults, each test with runners of its own: killed mid-job, a runaway job, a cancel, SIGTERM."""

import pathlib

import pytest

from prereq import need

need("pandas", "psycopg", "requests")

import datastack as ds  # noqa: E402
from runners import RunnerProcess, make_pipelines, process_exists  # noqa: E402
from stack import eventually  # noqa: E402


@pytest.fixture
def pipelines(tmp_path):
    return make_pipelines(tmp_path)


@pytest.fixture
def runners(stack, pipelines):
    """Starts runners on demand (``runners()``); stops whatever is left at the end."""
    started = []

    def start(**settings):
        process = RunnerProcess(stack, pipelines, pipelines.parent / f"runner-{len(started)}.log", **settings).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def started_pids(marker: pathlib.Path, count: int = 1) -> list[int]:
    """The process ids pipelines.testing:sleep wrote to ``marker`` when it started (once ``count`` attempts did)."""
    lines = marker.read_text().split() if marker.exists() else []
    return [int(line) for line in lines] if len(lines) >= count else []


def test_a_job_of_a_killed_runner_succeeds_on_another_after_its_lease(client, runners, tmp_path):
    """SIGKILL of the runner mid-job kills the job's process with it; after the lease, another runner runs the job
    again (attempt 2) and it succeeds: jobs are at least once."""
    first = runners()
    marker = tmp_path / "started"
    job = client.run("pipelines.testing:sleep", seconds=1, first_attempt_seconds=120, marker=str(marker), wait=False)
    [pid] = eventually(lambda: started_pids(marker), 20, "the job to start in the first runner")

    first.kill()
    eventually(lambda: not process_exists(pid), 10, "the killed runner's job process to end with it")
    runners()
    done = client.wait(job, timeout=90)

    assert done.status == "succeeded" and done.attempts == 2
    assert done.result["attempt"] == 2 and done.result["pid"] != pid
    assert len(started_pids(marker, 2)) == 2


def test_a_runaway_job_is_stopped_at_its_timeout(client, runners, tmp_path):
    """A job that overruns its timeoutSeconds is killed and fails with code 'timeout', not retried; the runner goes on."""
    runner = runners()
    marker = tmp_path / "started"
    with pytest.raises(ds.JobFailed) as caught:
        client.run("pipelines.testing:sleep", seconds=600, marker=str(marker), job_timeout=2, timeout=60)

    assert caught.value.code == "timeout" and caught.value.job.attempts == 1
    [pid] = started_pids(marker)
    eventually(lambda: not process_exists(pid), 5, "the runaway job's process to be gone")
    assert client.run("pipelines.examples:echo", after="timeout") == {"after": "timeout"}
    assert runner.health()[0] == 200


def test_a_runaway_notebook_is_stopped_at_its_timeout_kernel_and_all(client, runners, tmp_path):
    """A notebook job past its timeout: the worker, the notebook's kernel and what the kernel started are killed."""
    runners()
    marker = tmp_path / "kernel"
    with pytest.raises(ds.JobFailed) as caught:
        client.run_notebook("pipelines/sleepy.ipynb", parameters={"marker": str(marker), "seconds": 600}, job_timeout=5, timeout=60)

    assert caught.value.code == "timeout"
    kernel, child = started_pids(marker, 2)
    eventually(lambda: not process_exists(kernel) and not process_exists(child), 5, "the notebook's kernel and its child to be gone")


def test_a_cancelled_job_is_stopped_and_reported_cancelled(client, runners, tmp_path):
    """client.cancel() of a running job: the runner learns it from its heartbeat, kills the job's process and
    reports it cancelled."""
    runners()
    marker = tmp_path / "started"
    job = client.run("pipelines.testing:sleep", seconds=600, marker=str(marker), wait=False)
    [pid] = eventually(lambda: started_pids(marker), 20, "the job to start")

    client.cancel(job.id)

    with pytest.raises(ds.JobFailed):
        client.wait(job, timeout=30)
    assert client.job(job.id).status == "cancelled"
    eventually(lambda: not process_exists(pid), 5, "the cancelled job's process to be gone")
    assert client.run("pipelines.examples:noop") is None


def test_sigterm_lets_short_jobs_finish_and_returns_the_rest(client, runners, tmp_path):
    """SIGTERM: no more claims; a job that ends within the grace period succeeds, one that does not is killed and
    returned to the queue without losing its attempt; the runner exits 0; another runner finishes the returned job."""
    first = runners(DATASTACK_RUNNER_GRACE_SECONDS="3")
    short_marker, long_marker = tmp_path / "short", tmp_path / "long"
    short = client.run("pipelines.testing:sleep", seconds=1.5, marker=str(short_marker), wait=False)
    long = client.run("pipelines.testing:sleep", seconds=8, marker=str(long_marker), wait=False)
    eventually(lambda: started_pids(short_marker) and started_pids(long_marker), 20, "both jobs to start")
    [long_pid] = started_pids(long_marker)

    code = first.terminate(timeout=30)

    assert code == 0
    assert client.wait(short, timeout=5).result["attempt"] == 1
    returned = client.job(long.id)
    assert returned.status == "queued", returned
    assert not process_exists(long_pid)
    assert "returned to the queue" in first.output()
    runners()
    done = client.wait(long, timeout=60)
    assert done.result["attempt"] == 1  # the return did not count as an attempt


def test_sigterm_of_an_idle_runner_exits_at_once_and_leaves_no_job_behind(client, runners):
    """An idle runner (waiting in a claim) stops within a second or two of SIGTERM; a job queued afterwards is not
    stuck with it but runs on the next runner at once."""
    first = runners()

    assert first.terminate(timeout=10) == 0
    job = client.run("pipelines.examples:noop", wait=False)
    runners()
    done = client.wait(job, timeout=5)
    assert done.status == "succeeded" and done.attempts == 1
