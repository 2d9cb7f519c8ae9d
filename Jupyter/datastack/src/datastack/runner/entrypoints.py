"""What a job may run: a function of the ``pipelines`` package, or a notebook in its folder. Nothing else.

Processing refuses anything else at submission (400); the runner checks again where it matters, against the
files it actually has: the module must be imported from the pipelines folder, the function must be defined in
the pipelines package (not imported into it from elsewhere), a notebook's real path must lie inside the folder.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pathlib
import re
from typing import Any, Callable

PACKAGE = "pipelines"
# pipelines[.module...]:function; no part starts with '_' (no dunders, nothing private).
_NAME = r"[A-Za-z][A-Za-z0-9_]*"
ENTRYPOINT = re.compile(rf"^{PACKAGE}(?:\.{_NAME})*:{_NAME}$")
NOTEBOOK = re.compile(rf"^{PACKAGE}/(?:{_NAME}/)*[A-Za-z0-9][A-Za-z0-9_.-]*\.ipynb$")


class JobRefused(Exception):
    """The job cannot run at all (not retried): ``code`` is ``invalid_entrypoint``, ``notebook_not_found``, ..."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def function(entrypoint: Any, pipelines: pathlib.Path) -> Callable[..., Any]:
    """Import ``pipelines.module:function`` and return the function, or raise JobRefused."""
    if not isinstance(entrypoint, str) or not ENTRYPOINT.match(entrypoint):
        raise JobRefused(
            "invalid_entrypoint",
            f"entrypoint {entrypoint!r} is not runnable: give 'pipelines.<module>:<function>' "
            "(only the pipelines package runs; no name may start with '_')",
        )
    module_name, function_name = entrypoint.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise JobRefused("invalid_entrypoint", f"entrypoint {entrypoint!r}: there is no module {e.name} in {pipelines}") from None
        raise  # the module exists but imports something missing: the pipeline's own error
    if not _inside(getattr(module, "__file__", None), pipelines):
        raise JobRefused("invalid_entrypoint", f"entrypoint {entrypoint!r}: {module_name} was not imported from {pipelines}")
    target = getattr(module, function_name, None)
    if target is None:
        raise JobRefused("invalid_entrypoint", f"entrypoint {entrypoint!r}: {module_name} has no function {function_name}")
    if not inspect.isfunction(target) or not (target.__module__ == PACKAGE or target.__module__.startswith(PACKAGE + ".")):
        defined = getattr(target, "__module__", None) or type(target).__name__
        raise JobRefused(
            "invalid_entrypoint",
            f"entrypoint {entrypoint!r} is not a function defined in the pipelines package (it comes from {defined})",
        )
    return target


def bind(target: Callable[..., Any], entrypoint: str, parameters: Any) -> dict[str, Any]:
    """The keyword arguments for ``target``, or JobRefused(``invalid_parameters``) when they cannot bind."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise JobRefused("invalid_parameters", f"parameters of {entrypoint} must be a JSON object, not {type(parameters).__name__}")
    try:
        inspect.signature(target).bind(**parameters)
    except TypeError as e:
        raise JobRefused("invalid_parameters", f"{entrypoint}: {e}") from None
    return parameters


def notebook(path: Any, pipelines: pathlib.Path) -> pathlib.Path:
    """The file of ``pipelines/<...>.ipynb``, or raise JobRefused."""
    if not isinstance(path, str) or not NOTEBOOK.match(path) or "/." in path:
        raise JobRefused(
            "invalid_entrypoint",
            f"notebook {path!r} is not runnable: give 'pipelines/<name>.ipynb' (a notebook inside the pipelines folder)",
        )
    file = pipelines.parent / path
    if not _inside(str(file), pipelines):
        raise JobRefused("invalid_entrypoint", f"notebook {path!r} leads outside {pipelines} (a symbolic link)")
    if not file.is_file():
        raise JobRefused("notebook_not_found", f"notebook {path!r}: there is no {file}")
    return file


def _inside(file: str | None, folder: pathlib.Path) -> bool:
    if not file:
        return False
    real, root = os.path.realpath(file), os.path.realpath(folder)
    return real.startswith(root + os.sep)
