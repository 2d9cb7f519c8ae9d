#!/usr/bin/env bash
# Installs the OpenTelemetry Python SDK for the Python tests on a Debian bookworm machine with no Python package
# index: the wheels of ../shared/wheelhouse (the public packages at the versions Jupyter/requirements.txt pins,
# see its README) into a folder of their own, /opt/datastack/opentelemetry (or $DATASTACK_OTEL_SDK), which
# test.sh and tests/python/conftest.py put on PYTHONPATH. Nothing is installed into the system's Python but
# Debian packages. Idempotent; needs root (apt-get). Usage: install-opentelemetry.sh [WHEELHOUSE]
#
# What the wheels need at run time, and where it comes from:
#   bookworm packages  python3-grpcio 1.51.1, python3-protobuf 3.21.12, python3-wrapt, python3-packaging,
#                      python3-importlib-metadata 4.12 (enough for the entry points the API reads), python3-pip
#   trixie, unpacked   python3-typing-extensions 4.13.2 (the SDK imports typing_extensions.deprecated, new in 4.5;
#   into the folder    bookworm has 4.4) and python3-googleapis-common-protos 1.66 (the gRPC exporter imports
#                      google.rpc; bookworm has no such package). Both are pure Python; they are unpacked into
#                      the folder, never installed system-wide, and shadow bookworm's typing_extensions only
#                      for the processes that put the folder on their path.
# The same grpcio and protobuf versions as the jupyter stand-in (trixie), for which the wheelhouse was checked.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=../images/lib.sh
. "$repo/tests/images/lib.sh"

wheelhouse="${1:-${DATASTACK_WHEELHOUSE:-$repo/../shared/wheelhouse}}"
target="${DATASTACK_OTEL_SDK:-/opt/datastack/opentelemetry}"
say() { printf 'install-opentelemetry: %s\n' "$*"; }
fail() { printf 'install-opentelemetry: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (apt-get installs the Debian packages)"
compgen -G "$wheelhouse/*.whl" >/dev/null \
    || fail "no wheels in $wheelhouse: the OpenTelemetry SDK comes from ../shared/wheelhouse beside the checkout (or give its path, or set DATASTACK_WHEELHOUSE)"
(cd "$wheelhouse" && sha256sum --quiet -c SHA256SUMS) || fail "$wheelhouse: the wheels do not match its SHA256SUMS"

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends \
    python3-pip python3-grpcio python3-protobuf python3-wrapt python3-packaging python3-importlib-metadata >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt downloads as _apt, which must reach the folder
staging="$work/site"
mkdir -p "$staging" "$work/debs"
trixie_apt_update
(cd "$work/debs" && trixie_download python3-typing-extensions python3-googleapis-common-protos)
for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/unpacked"
done
cp -a "$work/unpacked/usr/lib/python3/dist-packages/." "$staging/"
# pip's --target leaves the system untouched (no EXTERNALLY-MANAGED refusal, nothing in dist-packages).
/usr/bin/python3 -m pip install --quiet --no-index --no-deps --no-compile --disable-pip-version-check \
    --root-user-action=ignore --target "$staging" "$wheelhouse"/*.whl

# Checked before it replaces the previous folder: the SDK, both exporters and the instrumentations import.
PYTHONPATH="$staging" /usr/bin/python3 -W ignore::RuntimeWarning -c '
import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.grpc.trace_exporter
import opentelemetry.exporter.otlp.proto.http.trace_exporter
import opentelemetry.instrumentation.requests, opentelemetry.instrumentation.psycopg
' || fail "the SDK installed into $staging does not import (see above)"
mkdir -p "$(dirname "$target")"
rm -rf "$target"
mv "$staging" "$target"
say "the OpenTelemetry SDK $(cd "$wheelhouse" && ls opentelemetry_sdk-*.whl | cut -d- -f2) is in $target (test.sh puts it on PYTHONPATH)"
