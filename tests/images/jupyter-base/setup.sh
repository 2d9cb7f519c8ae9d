#!/bin/bash
# TEST FIXTURE standing in for the build steps of docker-stacks' docker-stacks-foundation/base-notebook images,
# for datastack-standin/jupyter-base:trixie. Runs inside the new root file system (mmdebstrap customize hook)
# with this folder's files in /tmp/standin.
set -euo pipefail
NB_USER=jovyan NB_UID=1000 NB_GID=100 CONDA_DIR=/opt/conda

# The user docker-stacks images run as: jovyan (1000) in group users (100).
useradd --create-home --shell /bin/bash --no-user-group --uid "$NB_UID" --gid "$NB_GID" "$NB_USER"

# CONDA_DIR is a venv over Debian's packages: `pip install` works there (Debian's own Python refuses
# system-wide installs) and finds pandas, psycopg, setuptools ... without an index.
python3 -m venv --system-site-packages "$CONDA_DIR"

# The kernel runs the venv's python (so what pip installs into CONDA_DIR imports); JUPYTER_PATH puts this
# kernelspec before Debian's /usr/share/jupyter/kernels/python3, which runs /usr/bin/python3.
mkdir -p "$CONDA_DIR/share/jupyter/kernels/python3"
cat >"$CONDA_DIR/share/jupyter/kernels/python3/kernel.json" <<JSON
{
 "argv": ["$CONDA_DIR/bin/python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
 "display_name": "Python 3 (ipykernel)",
 "language": "python",
 "metadata": {"debugger": true}
}
JSON

# The OpenTelemetry SDK the real image installs from Jupyter/requirements.txt, from the wheels build-standins.sh
# copied in (none: the image has no SDK, and the datastack extension says tracing is off).
if compgen -G "/tmp/standin/wheelhouse/*.whl" >/dev/null; then
    "$CONDA_DIR/bin/python" -m pip install --quiet --no-index --no-deps --no-cache-dir --disable-pip-version-check \
        /tmp/standin/wheelhouse/*.whl
    "$CONDA_DIR/bin/python" -W ignore::RuntimeWarning -c \
        'import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.grpc.trace_exporter, opentelemetry.exporter.otlp.proto.http.trace_exporter, opentelemetry.instrumentation.requests, opentelemetry.instrumentation.psycopg'
fi

install -m 0755 /tmp/standin/start.sh /tmp/standin/start-notebook.py /tmp/standin/fix-permissions /usr/local/bin/
install -D -m 0644 /tmp/standin/jupyter_server_config.py /etc/jupyter/jupyter_server_config.py
mkdir -p /usr/local/bin/start-notebook.d /usr/local/bin/before-notebook.d "/home/$NB_USER/work"
chown -R -h "$NB_UID:$NB_GID" "/home/$NB_USER" "$CONDA_DIR"
NB_GID="$NB_GID" /usr/local/bin/fix-permissions "$CONDA_DIR" "/home/$NB_USER"
rm -rf /tmp/standin
