"""Python jobs end to end: a real runner process (python -m datastack.runner) claims them from a live Processing."""

import datetime as dt
import json
import os

import pytest

from prereq import need

need("pandas", "psycopg", "requests", "nbclient", "nbformat", "ipykernel")

import nbformat  # noqa: E402
import psycopg  # noqa: E402

import datastack as ds  # noqa: E402
from runners import REPO, RunnerProcess, make_pipelines  # noqa: E402
from stack import eventually  # noqa: E402

DAY = "2024-01-05"


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    return make_pipelines(tmp_path_factory.mktemp("runner"))


@pytest.fixture(scope="module")
def runner(stack, pipelines):
    process = RunnerProcess(stack, pipelines, pipelines.parent / "runner.log").start()
    yield process
    process.stop()


@pytest.fixture
def trips(client, name):
    """The sample trips as a dataset of this test's own."""
    client.upload(str(REPO / "data" / "samples" / "trips.csv"), name)
    return name


def database(stack):
    return psycopg.connect(stack.postgres.uri, autocommit=True)


def job_row(stack, job_id):
    with database(stack) as conn:
        return conn.execute("select status, attempts, result, error from datastack.jobs where id = %s", (job_id,)).fetchone()


def test_function_job_writes_its_dataset_and_returns_its_summary(stack, client, runner, trips, name):
    """pipelines.daily:summary reads a dataset, writes one (checked in PostgreSQL) and returns its summary (checked
    through the API); run twice, as at-least-once may, it leaves the same dataset."""
    target = name + "_zones"
    start = dt.date.fromisoformat(DAY)
    with database(stack) as conn:
        expected = conn.execute(
            f"select zone, count(*), round(sum(fare)::numeric, 2) from datasets.{trips} "
            "where pickup_at >= %s and pickup_at < %s group by zone order by zone nulls last",
            (start, start + dt.timedelta(days=1)),
        ).fetchall()

    job = client.run("pipelines.daily:summary", day=DAY, source=trips, target=target, wait=False)
    done = client.wait(job)
    again = client.run("pipelines.daily:summary", day=DAY, source=trips, target=target)

    assert done.result == again
    assert again["trips"] == sum(count for _, count, _ in expected)
    assert again["zones"] == len(expected) and again["dataset"] == target
    with database(stack) as conn:
        written = conn.execute(f"select zone, trips, round(fares::numeric, 2) from datasets.{target} order by zone nulls last").fetchall()
        assert conn.execute(f"select count(distinct day) from datasets.{target}").fetchone()[0] == 1
    assert written == expected
    status, attempts, result, error = job_row(stack, job.id)
    assert (status, attempts, result, error) == ("succeeded", 1, again, None)


def test_notebook_job_returns_the_executed_notebook_with_its_parameters(stack, client, runner, trips):
    """run_notebook() returns the notebook executed with the parameters injected after the 'parameters' cell; the same
    notebook is the job's result in PostgreSQL and GET /jobs/{id}/notebook."""
    day = "2024-01-07"
    start = dt.date.fromisoformat(day)
    with database(stack) as conn:
        trips_that_day, busiest_hour = conn.execute(
            f"select sum(n), (array_agg(h order by n desc, h))[1] from (select extract(hour from pickup_at)::int h, count(*) n "
            f"from datasets.{trips} where pickup_at >= %s and pickup_at < %s group by 1) t",
            (start, start + dt.timedelta(days=1)),
        ).fetchone()

    executed = client.run_notebook("pipelines/report.ipynb", parameters={"day": day, "source": trips})

    nbformat.validate(executed)
    tags = [cell.metadata.get("tags", []) for cell in executed.cells]
    at = tags.index(["parameters"])
    assert tags[at + 1] == ["injected-parameters"]
    assert f"day = '{day}'" in executed.cells[at + 1].source and f"source = '{trips}'" in executed.cells[at + 1].source
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs if o.output_type == "stream")
    assert printed == f"{day}: {trips_that_day} trips, busiest hour {busiest_hour}\n"
    assert all(cell.execution_count for cell in executed.cells if cell.cell_type == "code")

    job = client.run_notebook("pipelines/report.ipynb", parameters={"day": day, "source": trips}, wait=False)
    client.wait(job)
    served = client.notebook(job)
    status, _, result, _ = job_row(stack, job.id)
    assert status == "succeeded"
    assert nbformat.from_dict(result["notebook"]) == served
    assert [c.source for c in served.cells] == [c.source for c in executed.cells]


def test_failing_pipeline_shows_the_python_error_with_secrets_masked(stack, client, runner):
    """An exception in a pipeline fails the job (retried first) with its type, message and traceback; the API key
    and the database password it held are masked everywhere: the job, the exception, the runner's console."""
    with pytest.raises(ds.JobFailed) as caught:
        client.run("pipelines.testing:fail", day=DAY)

    error = caught.value
    assert error.code == "python_error" and error.type == "KeyError"
    assert f"no trips on {DAY} (asked with key *** and password ***)" in str(error)
    assert 'testing.py", line' in error.traceback and "in fail" in error.traceback
    assert error.job.attempts == 3  # retried while attempts remained
    status, attempts, _, stored = job_row(stack, error.job.id)
    assert (status, attempts, stored["type"]) == ("failed", 3, "KeyError")
    for secret in (stack.processing.api_key, stack.postgres.password):
        assert secret not in str(error)
        assert secret not in json.dumps(stored)
        assert secret not in runner.output()
    assert f"[job {error.job.id}] KeyError: " in runner.output()


@pytest.mark.parametrize(
    "target",
    ["os:system", "pipelines.examples:_private", "pipelines.examples:noop.__globals__", "builtins:eval", "pipelines:__init__"],
)
def test_entrypoints_outside_the_pipelines_package_get_400(client, target):
    """Processing refuses at submission anything but a public function name of the pipelines package."""
    with pytest.raises(ds.ProcessingError) as caught:
        client.run(target)
    assert caught.value.status == 400


@pytest.mark.parametrize("path", ["../notebooks/01-getting-started.ipynb", "/etc/passwd.ipynb", "pipelines/../x.ipynb", "pipelines/.hidden.ipynb"])
def test_notebooks_outside_the_pipelines_folder_get_400(client, path):
    """Processing refuses at submission a notebook path that is not inside the pipelines folder."""
    with pytest.raises(ds.ProcessingError) as caught:
        client.run_notebook(path)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("pipelines.testing:imported_system", "invalid_entrypoint"),  # os.system, imported into a pipelines module
        ("pipelines.missing:anything", "invalid_entrypoint"),
        ("pipelines.testing:VERSION", "invalid_entrypoint"),
        ("pipelines/escape.ipynb", "invalid_entrypoint"),  # a link to a notebook outside the folder
        ("pipelines/missing.ipynb", "notebook_not_found"),
    ],
)
def test_the_runner_runs_only_code_of_the_pipelines_folder(client, runner, pipelines, target, code):
    """What passes Processing's check but is not the pipelines' own code fails at once, without a retry."""
    escape = pipelines / "escape.ipynb"
    if not escape.is_symlink():
        escape.symlink_to(REPO / "Jupyter" / "notebooks" / "01-getting-started.ipynb")
    with pytest.raises(ds.JobFailed) as caught:
        client.run_notebook(target) if target.endswith(".ipynb") else client.run(target)
    assert caught.value.code == code
    assert caught.value.job.attempts == 1


def test_run_returns_the_functions_value_and_parameters_arrive_as_sent(client, runner):
    """run() returns the function's return value; JSON parameters arrive unchanged; bad ones are refused clearly."""
    sent = {"n": 3, "ratio": 0.5, "words": ["a", None, "ü"], "nested": {"ok": True}}
    assert client.run("pipelines.examples:echo", **sent) == sent
    assert client.run("pipelines.examples:echo", parameters={"timeout": 5}) == {"timeout": 5}
    assert client.run("pipelines.examples:noop") is None
    queued = client.run("pipelines.examples:noop", wait=False)
    assert isinstance(queued, ds.Job) and client.wait(queued).status == "succeeded"
    with pytest.raises(ds.JobFailed) as caught:
        client.run("pipelines.examples:noop", unexpected=1)
    assert caught.value.code == "invalid_parameters" and caught.value.job.attempts == 1
    with pytest.raises(TypeError, match="'day' is not a JSON value"):
        client.run("pipelines.examples:echo", day=dt.date(2024, 1, 5))


def test_job_output_reaches_the_runner_console_tagged_with_the_job_id(client, runner):
    """What a job prints, logs and writes to stderr is on the runner's console, each line tagged with the job."""
    job = client.run("pipelines.testing:chatty", words=["hello", "runner"], wait=False)
    client.wait(job)
    console = runner.output()
    assert f"[job {job.id}] printed: hello runner\n" in console
    assert f"[job {job.id}] INFO pipelines.testing: logged: hello runner\n" in console
    assert f"[job {job.id}] to stderr: hello runner\n" in console


def test_progress_reported_by_a_pipeline_reaches_the_job(client, runner):
    """datastack.runner.progress() inside a job shows in the job's progress while it runs (sent with the heartbeat)."""
    job = client.run("pipelines.testing:progress", rows=1234, then_sleep=5, wait=False)
    eventually(lambda: client.job(job.id).status != "queued", 60, "a runner to take the job")
    running = eventually(lambda: (j := client.job(job.id)).rows == 1234 and j, 8, "the job's progress to show 1234 rows")
    assert running.status == "running" and running.bytes == 12340
    ended = client.wait(job)
    assert ended.result == 1234
    assert (ended.rows, ended.bytes) == (1234, 12340)  # the success keeps the last progress


def test_an_edit_to_a_pipeline_file_applies_to_the_next_job(client, runner, pipelines):
    """Changing a pipelines file (or adding one) changes what the next job runs, without restarting the runner."""
    module = pipelines / "edited.py"
    module.write_text("def version():\n    return 1\n")
    assert client.run("pipelines.edited:version") == 1
    module.write_text("def version():\n    return 2\n")
    assert client.run("pipelines.edited:version") == 2
    module.write_text("def version():\n    return 'three'\n")
    assert client.run("pipelines.edited:version") == "three"
    (pipelines / "added.py").write_text("from pipelines.edited import version\n\n\ndef twice():\n    return [version(), version()]\n")
    assert client.run("pipelines.added:twice") == ["three", "three"]
    assert runner.process.poll() is None


def test_health_and_alive_answer_on_the_health_port(runner):
    """GET /health is 200 while the runner can reach Processing, with its name and slots; /alive is 200."""
    status, body = runner.health()
    assert status == 200 and body["status"] == "healthy" and body["slots"] == 2
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{runner.port}/alive", timeout=5) as response:
        assert response.status == 200
