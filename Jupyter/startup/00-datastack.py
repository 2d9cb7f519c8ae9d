# Loaded by IPython at kernel start (copied to ~/.ipython/profile_default/startup/ in the image).
# Loads the datastack extension in every kernel: each cell becomes a span when OpenTelemetry is configured,
# and %%sql exists. A notebook's own `%load_ext datastack` then only prints IPython's "already loaded" (that
# cell is a span like any other); `print(datastack.tracing.status())` shows whether cells are traced and why.
# The line printed here goes to the kernel's log, not to a notebook.
# Telemetry problems only turn tracing off; anything else that breaks the package must not stop the kernel
# from starting either: report and carry on.
try:
    get_ipython().run_line_magic("load_ext", "datastack")  # noqa: F821 (IPython defines get_ipython)
except Exception as _datastack_error:  # noqa: BLE001
    print(f"datastack: extension not loaded: {_datastack_error}")
