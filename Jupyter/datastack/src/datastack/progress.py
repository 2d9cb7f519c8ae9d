"""The tqdm progress bars of uploads and job waits."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from .models import Job


def progress_bar(show: bool, **kwargs: Any) -> Any:
    """A tqdm bar: the widget flavour in a Jupyter kernel with ipywidgets, the text one elsewhere."""
    if not show:
        return None
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("leave", True)
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and "IPKernelApp" in shell.config:
            import ipywidgets  # noqa: F401  (tqdm.notebook needs it)
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(**kwargs)
    except Exception:
        pass
    from tqdm.std import tqdm as text_tqdm

    return text_tqdm(**kwargs)


def advance(bar: Any, job: Job) -> None:
    if bar is None:
        return
    if job.rows is not None and job.rows > bar.n:
        bar.update(job.rows - bar.n)
    postfix = {"status": job.status}
    if job.bytes:
        postfix["MB"] = f"{job.bytes / 1e6:.1f}"
    bar.set_postfix(postfix, refresh=False)
    if job.done and bar.total is None:
        bar.total = bar.n
    bar.refresh()


def counting(chunks: Iterable[bytes], update: Callable[[int], Any]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        update(len(chunk))
