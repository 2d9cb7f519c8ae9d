"""The runner's parts that need no Processing: its settings, what may run, parameters, its console, results."""

import io
import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

from prereq import need

need("pandas", "numpy", "nbformat")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from datastack.errors import ConfigurationError  # noqa: E402
from datastack.runner import entrypoints, notebooks, output, settings, worker  # noqa: E402
from datastack.runner.entrypoints import JobRefused  # noqa: E402

CONTRACT = {"PROCESSING_HTTP": "http://processing:8080", "DATASTACK_API_KEY": "k" * 24}


@pytest.fixture
def pipelines(tmp_path, monkeypatch):
    """A pipelines package on sys.path, as the worker sets it up; forgotten again afterwards."""
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "jobs.py").write_text("from os import getcwd\n\n\ndef hello(name='x'):\n    return name\n\n\nclass Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield folder
    for module in [m for m in sys.modules if m == "pipelines" or m.startswith("pipelines.")]:
        del sys.modules[module]


def test_settings_come_from_the_wiring_contract_and_runner_variables(pipelines):
    """The contract's URL and key, DATASTACK_RUNNER_* for the rest; defaults where unset."""
    env = {**CONTRACT, "DATASTACK_RUNNER_PIPELINES": str(pipelines), "DATASTACK_RUNNER_SLOTS": "3", "DATASTACK_RUNNER_GRACE_SECONDS": "7.5"}
    resolved = settings.resolve(env)
    assert (resolved.processing_url, resolved.slots, resolved.grace_seconds) == ("http://processing:8080", 3, 7.5)
    assert (resolved.health_port, resolved.pipelines, resolved.pipelines_root) == (8080, pipelines, pipelines.parent)
    assert "k" * 24 not in repr(resolved)
    service = settings.resolve({"services__processing__http__0": "http://p:1", "DATASTACK_API_KEY": "", "DATASTACK_RUNNER_PIPELINES": str(pipelines)})
    assert service.processing_url == "http://p:1" and service.api_key is None


def test_settings_name_every_problem_at_once(tmp_path):
    """Missing URL and key, a bad number and a folder that is no pipelines package: one error naming all."""
    other = tmp_path / "code"
    other.mkdir()
    with pytest.raises(ConfigurationError) as caught:
        settings.resolve({"DATASTACK_RUNNER_SLOTS": "many", "DATASTACK_RUNNER_PIPELINES": str(other)})
    message = str(caught.value)
    for expected in ("PROCESSING_HTTP", "DATASTACK_API_KEY", "DATASTACK_RUNNER_SLOTS must be a number", "must be named 'pipelines'"):
        assert expected in message


def test_the_runner_without_settings_exits_78_with_one_line(tmp_path):
    """python -m datastack.runner with nothing configured: exit code 78 and one line naming the settings."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "HOME")}
    done = subprocess.run([sys.executable, "-m", "datastack.runner"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78
    assert done.stderr.count("\n") == 1 and "PROCESSING_HTTP" in done.stderr and "DATASTACK_API_KEY" in done.stderr


def test_only_functions_defined_in_the_pipelines_package_resolve(pipelines):
    """A function of a pipelines module resolves; an imported one, a class, a private or unknown name does not."""
    assert entrypoints.function("pipelines.jobs:hello", pipelines)("y") == "y"
    for refused in ("pipelines.jobs:getcwd", "pipelines.jobs:Thing", "pipelines.jobs:_hidden", "os:getcwd", "pipelines.nothing:x", "pipelines.jobs:nothing", "pipelines.jobs:hello.__globals__"):
        with pytest.raises(JobRefused) as caught:
            entrypoints.function(refused, pipelines)
        assert caught.value.code == "invalid_entrypoint", refused


def test_a_pipelines_package_imported_from_elsewhere_is_refused(pipelines, tmp_path):
    """The module must come from the configured folder, not from another 'pipelines' earlier on sys.path."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(JobRefused, match="was not imported from"):
        entrypoints.function("pipelines.jobs:hello", elsewhere / "pipelines")


def test_parameters_must_bind_to_the_function(pipelines):
    """Unknown or surplus parameters are 'invalid_parameters', before the function runs."""
    hello = entrypoints.function("pipelines.jobs:hello", pipelines)
    assert entrypoints.bind(hello, "pipelines.jobs:hello", {"name": "z"}) == {"name": "z"}
    assert entrypoints.bind(hello, "pipelines.jobs:hello", None) == {}
    for bad in ({"other": 1}, [1, 2]):
        with pytest.raises(JobRefused) as caught:
            entrypoints.bind(hello, "pipelines.jobs:hello", bad)
        assert caught.value.code == "invalid_parameters"


def test_notebook_paths_stay_inside_the_folder(pipelines, tmp_path):
    """A notebook of the folder resolves; a missing one is notebook_not_found; '..', absolute paths and a symbolic
    link that leads outside are invalid_entrypoint."""
    (pipelines / "sub").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(pipelines / "sub" / "a.ipynb"))
    outside = tmp_path / "outside.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(outside))
    (pipelines / "link.ipynb").symlink_to(outside)
    assert entrypoints.notebook("pipelines/sub/a.ipynb", pipelines) == pipelines / "sub" / "a.ipynb"
    with pytest.raises(JobRefused) as caught:
        entrypoints.notebook("pipelines/b.ipynb", pipelines)
    assert caught.value.code == "notebook_not_found"
    for refused in ("pipelines/link.ipynb", "pipelines/../outside.ipynb", "/etc/x.ipynb", "pipelines/.a.ipynb", "other/a.ipynb"):
        with pytest.raises(JobRefused) as caught:
            entrypoints.notebook(refused, pipelines)
        assert caught.value.code == "invalid_entrypoint", refused


def test_parameters_are_injected_after_the_parameters_cell_or_at_the_top():
    """papermill's convention: a cell tagged injected-parameters after the cell tagged parameters, else first."""
    tagged = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell("print(a)")])
    notebooks.inject_parameters(tagged, {"a": 2, "b": [1, None, "x"], "c": {"k": True}})
    assert tagged.cells[2].metadata["tags"] == ["injected-parameters"]
    namespace: dict = {}
    exec(tagged.cells[2].source, namespace)
    assert (namespace["a"], namespace["b"], namespace["c"]) == (2, [1, None, "x"], {"k": True})
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(a)")])
    notebooks.inject_parameters(plain, {"a": 3})
    assert plain.cells[0].metadata["tags"] == ["injected-parameters"] and len(plain.cells) == 2
    for bad in ("not a name", "class", "a; import os"):
        with pytest.raises(JobRefused) as caught:
            notebooks.inject_parameters(plain, {bad: 1})
        assert caught.value.code == "invalid_parameters"


def test_a_tagged_stream_writes_whole_lines_with_the_current_tag():
    """Lines carry the tag that was current when they were written; a partial line is finished before a retag."""
    target = io.StringIO()
    stream = output.TaggedStream(target, "[runner] ")
    stream.write("one\ntw")
    stream.write("o\nthree")
    stream.retag("[job 1] ")
    stream.write("four\n\nfive")
    stream.flush()
    assert target.getvalue() == "[runner] one\n[runner] two\n[runner] three\n[job 1] four\n[job 1] \n[job 1] five\n"


def test_results_are_json_numpy_scalars_included_anything_else_refused():
    """A function's value becomes JSON; NumPy scalars are numbers; NaN, a DataFrame or a set refuse the result."""
    assert json.loads(worker.to_json({"n": np.int64(3), "x": np.float32(0.5), "ok": np.bool_(True), "s": "é"}, "t")) == {"n": 3, "x": 0.5, "ok": True, "s": "é"}
    for bad in (math.nan, pd.DataFrame({"a": [1]}), {1, 2}):
        with pytest.raises(JobRefused) as caught:
            worker.to_json(bad, "pipelines.x:y")
        assert caught.value.code == "result_not_json" and "pipelines.x:y" in caught.value.message


def test_the_code_version_changes_when_a_file_is_edited_added_or_removed(pipelines):
    """What makes a worker forget the imported pipelines: any change of a .py file of the folder, nested too."""
    before = worker._code_version(pipelines)
    assert worker._code_version(pipelines) == before
    (pipelines / "jobs.py").write_text((pipelines / "jobs.py").read_text() + "\n# edited\n")
    edited = worker._code_version(pipelines)
    assert edited != before
    (pipelines / "sub").mkdir()
    (pipelines / "sub" / "new.py").write_text("")
    added = worker._code_version(pipelines)
    assert added != edited
    (pipelines / "sub" / "new.py").unlink()
    assert worker._code_version(pipelines) == edited
    (pipelines / "notes.txt").write_text("not code")
    assert worker._code_version(pipelines) == edited


def test_routine_log_lines_go_to_stdout_and_problems_to_stderr():
    """The Aspire dashboard shows a console's stderr lines as errors: only WARNING and above go there."""
    program = (
        "import logging\nfrom datastack.runner import output\noutput.install()\nlogging.getLogger().setLevel(logging.INFO)\n"
        "logging.getLogger('datastack.runner').info('claimed 1 job')\nlogging.getLogger('datastack.runner').warning('job failed')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)

    assert done.stdout == "[runner] INFO datastack.runner: claimed 1 job\n"
    assert done.stderr == "[runner] WARNING datastack.runner: job failed\n"
