"""The getting-started notebook runs headless, end to end, against the live stack."""

import pathlib
import re

from prereq import need

need("nbclient", "nbformat", "ipykernel", "matplotlib", "pandas", "psycopg")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

import pytest  # noqa: E402

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "Jupyter" / "notebooks"


def run(path: pathlib.Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    # Kernel 'python3' is ipykernel's spec (/usr/bin/python3 from python3-ipykernel); it inherits this
    # process's environment: the wiring-contract variables and PYTHONPATH with the package's source.
    client = NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(path.parent)}})
    error = None
    try:
        client.execute()
    except CellExecutionError as e:
        error = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    if error is not None:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    return notebook


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def test_getting_started_notebook_runs_end_to_end(stack):
    """01-getting-started.ipynb connects, uploads, profiles, transforms and plots without an error."""
    notebook = run(NOTEBOOKS / "01-getting-started.ipynb")
    text = outputs_text(notebook)
    assert "datastack: tracing" in text
    assert any(o.get("data", {}).get("image/png") for c in notebook.cells for o in c.get("outputs", [])), "no plot was drawn"
    assert stack.processing.api_key not in text and stack.postgres.password not in text


def test_committed_notebooks_have_no_outputs():
    """Notebooks are committed without outputs or execution counts."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"
