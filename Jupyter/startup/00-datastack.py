# Loaded by IPython at kernel start (copied to ~/.ipython/profile_default/startup/ in the image).
# `%load_ext datastack`: every cell becomes a span when OpenTelemetry is configured, and %%sql exists.
# A broken package must not stop the kernel from starting: report and carry on.
try:
    get_ipython().run_line_magic("load_ext", "datastack")  # noqa: F821 (IPython defines get_ipython)
except Exception as _datastack_error:  # noqa: BLE001
    print(f"datastack: extension not loaded: {_datastack_error}")
