"""A notebook job: the notebook executed by nbclient, its parameters injected as papermill does.

The parameters go into a new cell tagged ``injected-parameters`` right after the cell tagged ``parameters`` (at the
top when there is none), one ``name = value`` line each, so they override the notebook's defaults. The kernel is a
fresh ``python3`` kernel of the runner's own Python, started in the notebook's folder with the runner's environment
(so ``ds.connect()`` works in it as in JupyterLab) and the ``datastack`` extension loaded (``%%sql``, cell spans).
"""

from __future__ import annotations

import keyword
import os
import pathlib
import re
import sys
from typing import Any, Callable

from .entrypoints import JobRefused

KERNEL = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookFailed(Exception):
    """A cell raised (or the kernel died): ``type_name``, ``message`` and ``traceback`` are the kernel's."""

    def __init__(self, type_name: str, message: str, traceback: str) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.traceback = traceback


def inject_parameters(notebook: Any, parameters: dict[str, Any]) -> None:
    """Add the ``injected-parameters`` cell (papermill's convention); names must be Python identifiers."""
    import nbformat

    for name in parameters:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise JobRefused("invalid_parameters", f"notebook parameter {name!r} is not a Python name")
    if not parameters:
        return
    # JSON values (str, int, float, bool, None, list, dict) print as Python literals.
    source = "# Parameters\n" + "".join(f"{name} = {value!r}\n" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cells = notebook.cells
    at = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    cells.insert(at, cell)


def execute(
    file: pathlib.Path,
    parameters: Any,
    *,
    pipelines_root: pathlib.Path,
    traceparent: str | None,
    on_kernel: Callable[[int], None],
) -> dict[str, Any]:
    """Run the notebook; return the job's result ``{"notebook": ..., "parameters": ...}`` or raise NotebookFailed."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise JobRefused("invalid_parameters", f"parameters of {file.name} must be a JSON object, not {type(parameters).__name__}")
    try:
        notebook = nbformat.read(str(file), as_version=4)
    except Exception as e:  # not JSON, not a notebook
        raise JobRefused("invalid_notebook", f"{file.name} is not a notebook nbformat can read: {e}") from None
    inject_parameters(notebook, parameters)

    def kernel_started(**_: Any) -> None:
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if isinstance(pid, int):
            on_kernel(pid)

    def cell_executed(cell: Any, **_: Any) -> None:
        # The cell's printed output also goes to the runner's console, tagged with the job like everything else.
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                stream = sys.stderr if output.get("name") == "stderr" else sys.stdout
                stream.write(output.get("text", ""))
                stream.flush()

    client = NotebookClient(
        notebook,
        km=_own_python_kernel(),
        kernel_name=KERNEL,
        timeout=None,  # the job's timeoutSeconds bounds the whole attempt (the runner kills it)
        resources={"metadata": {"path": str(file.parent)}},
        extra_arguments=["--ext=datastack"],
        on_notebook_start=kernel_started,
        on_cell_executed=cell_executed,
    )
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "TRACEPARENT")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(pipelines_root), saved["PYTHONPATH"]) if p)
    if traceparent:
        os.environ["TRACEPARENT"] = traceparent
    try:
        client.execute()
    except CellExecutionError as e:
        index, lines = _failed_cell(notebook)
        where = f"{file.name}, cell {index}" if index is not None else file.name
        text = _ANSI.sub("", "\n".join(lines)) if lines else str(e)
        raise NotebookFailed(e.ename or "CellExecutionError", e.evalue or "", f"in {where}:\n{text}") from None
    except DeadKernelError as e:
        raise NotebookFailed("DeadKernelError", str(e), f"in {file.name}: the kernel died") from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"notebook": notebook, "parameters": parameters}


def _failed_cell(notebook: Any) -> tuple[int | None, list[str]]:
    """The index of the cell that raised (counting every cell from 0, as nbformat does) and its traceback lines."""
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, list(output.get("traceback") or [])
    return None, []


def _own_python_kernel() -> Any:
    """A kernel manager for ipykernel on this very Python (``sys.executable``): the packages the runner has are the
    kernel's. A ``python3`` kernelspec installed elsewhere (Debian's python3-ipykernel registers /usr/bin/python3)
    would win over it by name, and would not see a venv's packages."""
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class OwnPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=OwnPython())
