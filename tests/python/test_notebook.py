"""The getting-started notebook runs headless, end to end, against the live stack."""

import pathlib
import re
import shutil

from prereq import need

need("nbclient", "nbformat", "ipykernel", "matplotlib", "pandas", "psycopg")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

import pytest  # noqa: E402

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "Jupyter" / "notebooks"
STARTUP = pathlib.Path(__file__).resolve().parents[2] / "Jupyter" / "startup" / "00-datastack.py"


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


def test_getting_started_notebook_runs_end_to_end_and_every_cell_is_a_span(stack, otel, monkeypatch, tmp_path):
    """01-getting-started.ipynb connects, uploads, profiles, transforms and plots; its kernel exports a span per cell."""
    # The kernel inherits the `otel` fixture's OTLP variables, as the container's kernels inherit what Aspire sets
    # (there over gRPC + TLS).
    monkeypatch.setenv("OTEL_SERVICE_NAME", "jupyter")
    # The image's IPython startup file, where the image has it: the extension is loaded before the first cell.
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    shutil.copy(STARTUP, startup / STARTUP.name)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = run(NOTEBOOKS / "01-getting-started.ipynb")  # the kernel flushes its spans when it exits
    spans = otel.spans

    text = outputs_text(notebook)
    assert "tracing on, every cell is a span" in text, text[:2000]
    assert any(o.get("data", {}).get("image/png") for c in notebook.cells for o in c.get("outputs", [])), "no plot was drawn"
    assert stack.processing.api_key not in text and stack.postgres.password not in text
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    # A cell's span is found by the start of its code (bookworm's ipykernel does not pass the cell id on).
    cell_spans = [s for s in spans if s.name.startswith("cell ")]
    cells = {c.id: next((s for s in cell_spans if s.attributes.get("jupyter.cell.code", "")[:40] == c.source.strip()[:40]), None) for c in code_cells}
    assert len(cell_spans) == len(code_cells) and None not in cells.values(), f"cell spans: {[s.attributes.get('jupyter.cell.code', '')[:40] for s in cell_spans]}"
    assert {s.service for s in cell_spans} == {"jupyter"} and len({s.trace_id for s in cell_spans}) == len(cell_spans)
    by_parent: dict[str, list] = {}
    for span in spans:
        by_parent.setdefault(span.parent_span_id, []).append(span)
    upload_cell = next(c for c in code_cells if "client.upload(data_dir" in c.source)
    under_upload = by_parent.get(cells[upload_cell.id].span_id, [])
    assert any(s.kind == "SPAN_KIND_CLIENT" and s.attributes.get("http.method") == "PUT" for s in under_upload), [s.name for s in under_upload]
    sql_cell = next(c for c in code_cells if c.source.startswith("%%sql"))
    assert any(s.attributes.get("db.system") == "postgresql" for s in by_parent.get(cells[sql_cell.id].span_id, []))
    exported = repr([(s.attributes, s.status_message, s.events) for s in spans])
    assert stack.processing.api_key not in exported and stack.postgres.password not in exported


def test_committed_notebooks_have_no_outputs():
    """Notebooks are committed without outputs or execution counts."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"
