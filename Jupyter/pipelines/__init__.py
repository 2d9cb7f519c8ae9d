"""The team's own jobs: code a notebook grew, run in production by the runner (``python -m datastack.runner``).

A function here runs as ``client.run("pipelines.<module>:<function>", name=value, ...)``; a notebook here as
``client.run_notebook("pipelines/<path>.ipynb", parameters={...})``. Only what is in this package runs as a job:
a function must be defined in one of its modules (not imported into it), its name must not start with ``_``.

Jobs run at least once: a runner that dies mid-job never reports it, and the job runs again elsewhere after its
lease. Write outputs so that a second run gives the same result (``upload(..., mode="replace")``).
"""
