#!/usr/bin/env bash
# Builds the local stand-in images (TEST FIXTURES) that let the AppHost start the stack where no image registry
# is reachable: each is a Debian root file system made by mmdebstrap from the machine's own apt mirror and
# imported with `docker import`. They are never defaults; README.md says which setting points at each.
#
#   datastack-standin/debian:bookworm          a minimal Debian (minbase)
#   datastack-standin/postgres:15              stands in for docker.io/library/postgres (Debian's PostgreSQL 15)
#   datastack-standin/jupyter-base:trixie      stands in for quay.io/jupyter/scipy-notebook (Debian trixie's JupyterLab)
#   mcr.microsoft.com/azurelinux/base/core:3.0 stands in for the base image of DCP's container tunnel (see below)
#   datastack-standin/loadbalancer:bookworm    stands in for a cloud platform's load balancer (the deployment rehearsal)
#   datastack-standin/python:trixie            stands in for a plain Python image (docker.io/library/python), the
#                                              runner's base: Debian trixie's Python 3.13 and packages, no Jupyter
#
# For machines with no image registry only: where a registry is reachable, use the real images. An image of one
# of these names that was not built here (pulled from its registry, or built otherwise) is never replaced.
#
# The jupyter stand-in gets the OpenTelemetry SDK the real image installs from Jupyter/requirements.txt: the wheels
# of ../shared/wheelhouse beside the checkout (or $DATASTACK_WHEELHOUSE; see its README), on trixie's grpcio and
# protobuf. Without them it still builds, and says loudly that notebook tracing is off in it.
#
# Each image carries the label org.datastack.standin.recipe = a hash of its recipe (this script's build
# function, the image's recipe function and the files in its folder); an image whose label matches is skipped,
# so a second run takes seconds. FORCE=yes rebuilds everything. Usage: build-standins.sh [image-key ...]
# with keys debian, postgres, jupyter-base, dcp-tunnel-base, loadbalancer, python (default: all). Needs root, mmdebstrap and Docker
# (install-docker.sh installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

LABEL_RECIPE=org.datastack.standin.recipe
LABEL_FOR=org.datastack.standin.for
WHEELHOUSE="${DATASTACK_WHEELHOUSE:-$here/../../../shared/wheelhouse}"
say() { printf 'build-standins: %s\n' "$*"; }
fail() { printf 'build-standins: %s\n' "$*" >&2; exit 1; }

# Smaller images, faster builds: no recommends, no documentation, manuals or translations, and no fsync per
# unpacked file (a throwaway root file system; on a busy disk this is most of the time).
COMMON_OPTS=(
    --variant=minbase --format=tar --dpkgopt=force-unsafe-io
    --aptopt='APT::Install-Recommends "false"' --aptopt='APT::Install-Suggests "false"'
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
)

# --- Recipes: each sets SUITE, INCLUDE (packages), HOOKS (mmdebstrap --customize-hook values), CHANGES
# (docker import --change values), FOR (what it stands in for) and DIR (its folder, hashed; may be empty); a recipe
# may set INPUTS (anything else the image is made of, hashed too) and NOTE (said before it is built or skipped).

recipe_debian() {
    IMAGE=datastack-standin/debian:bookworm
    FOR="a minimal Debian bookworm (no registry image stands behind it; a base for other fixtures)"
    SUITE=bookworm INCLUDE="" DIR=""
    HOOKS=()
    CHANGES=('CMD ["/bin/bash"]')
}

recipe_postgres() {
    IMAGE=datastack-standin/postgres:15
    FOR="docker.io/library/postgres (the AppHost's postgres resource), from Debian bookworm's PostgreSQL 15"
    SUITE=bookworm INCLUDE="postgresql-15" DIR="$here/postgres"
    HOOKS=(
        # The package creates a cluster 15/main; the entrypoint makes its own in PGDATA instead.
        'rm -rf "$1/etc/postgresql/15/main" "$1/var/lib/postgresql/15"'
        'upload "'"$DIR"'/docker-entrypoint.sh" /usr/local/bin/docker-entrypoint.sh'
        'chmod 0755 "$1/usr/local/bin/docker-entrypoint.sh"'
        'mkdir -p "$1/docker-entrypoint-initdb.d" "$1/var/lib/postgresql/data"'
        'chroot "$1" chown postgres:postgres /var/lib/postgresql/data'
    )
    CHANGES=(
        'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        'ENV PGDATA=/var/lib/postgresql/data'
        'ENV LANG=C.UTF-8'
        'VOLUME /var/lib/postgresql/data'
        'EXPOSE 5432'
        'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]'
        'CMD ["postgres"]'
    )
}

# The OpenTelemetry SDK of ../shared/wheelhouse for a Python stand-in: adds what the wheels need at run time to INCLUDE
# (../shared/wheelhouse/README.md: grpcio 1.51.1, protobuf 3.21.12 from Debian), sets `otel` (the SDK's version, or
# `none`), INPUTS (the wheels' checksums, part of the recipe hash) and, without wheels, a NOTE ending in $1.
opentelemetry_wheels() {
    INCLUDE+=" python3-grpcio python3-protobuf python3-googleapis-common-protos python3-wrapt python3-importlib-metadata"
    INCLUDE+=" python3-typing-extensions python3-packaging"
    otel=none
    if compgen -G "$WHEELHOUSE/opentelemetry_sdk-*.whl" >/dev/null; then
        (cd "$WHEELHOUSE" && sha256sum --quiet -c SHA256SUMS) || fail "$WHEELHOUSE: the wheels do not match its SHA256SUMS"
        otel="$(basename "$WHEELHOUSE"/opentelemetry_sdk-*.whl | cut -d- -f2)"
        INPUTS="opentelemetry wheels: $(cat "$WHEELHOUSE/SHA256SUMS")"
    else
        INPUTS="opentelemetry wheels: none"
        NOTE="WARNING: no OpenTelemetry wheels in $WHEELHOUSE: $IMAGE has no OpenTelemetry SDK, so $1. Put ../shared/wheelhouse beside the checkout, or set DATASTACK_WHEELHOUSE."
    fi
}

recipe_jupyter_base() {
    IMAGE=datastack-standin/jupyter-base:trixie
    FOR="quay.io/jupyter/scipy-notebook (the Jupyter base image), from Debian trixie's JupyterLab 4.0 and Python 3.13 packages"
    SUITE=trixie DIR="$here/jupyter-base"
    INCLUDE="jupyterlab jupyter-core jupyter-client python3-ipykernel python3-ipywidgets python3-pandas python3-psycopg python3-requests"
    INCLUDE+=" python3-tqdm python3-matplotlib python3-venv python3-pip python3-setuptools tini ca-certificates"
    local otel
    opentelemetry_wheels "notebook tracing is OFF in it (on CI the notebook-trace stack test fails)"
    HOOKS=(
        # jupyterlab depends on ~540 node-* packages (about 900 MB) that only `jupyter lab build` uses; the
        # server serves the prebuilt /usr/share/jupyter/lab. Their files go after installation (excluding them
        # from unpacking breaks their postinst scripts); the packages stay registered, so apt stays consistent.
        'rm -rf "$1/usr/share/nodejs" "$1/usr/lib/nodejs"'
        'mkdir -p "$1/tmp/standin/wheelhouse"'
        'sync-in "'"$DIR"'" /tmp/standin'
    )
    if [ "$otel" != none ]; then
        HOOKS+=('sync-in "'"$WHEELHOUSE"'" /tmp/standin/wheelhouse')
    fi
    HOOKS+=('chroot "$1" /bin/bash /tmp/standin/setup.sh')
    CHANGES=(
        'ENV NB_USER=jovyan NB_UID=1000 NB_GID=100 CONDA_DIR=/opt/conda HOME=/home/jovyan SHELL=/bin/bash'
        'ENV LANG=C.UTF-8 LC_ALL=C.UTF-8 JUPYTER_PORT=8888 JUPYTER_PATH=/opt/conda/share/jupyter'
        'ENV PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        "LABEL org.datastack.standin.opentelemetry=$otel"
        'USER 1000'
        'WORKDIR /home/jovyan'
        'EXPOSE 8888'
        'ENTRYPOINT ["tini", "-g", "--", "start.sh"]'
        'CMD ["start-notebook.py"]'
    )
}

# DCP (Aspire's orchestrator, 13.6.5) builds the client side of its container tunnel -- what a container uses
# to reach a resource on the host, e.g. jupyter -> processing -- FROM this exact name, which is compiled into
# the dcp binary; neither Aspire 13.6.5 nor DCP offers a setting for it. The name is DCP's requirement, not a
# registry this repository pulls from. The tunnel binary needs libssl3 (it panics without it).
recipe_dcp_tunnel_base() {
    IMAGE=mcr.microsoft.com/azurelinux/base/core:3.0
    FOR="the base image of DCP's container tunnel (name fixed in DCP 13.6.5), from Debian bookworm + libssl3"
    SUITE=bookworm INCLUDE="libssl3 ca-certificates" DIR=""
    HOOKS=()
    CHANGES=('CMD ["/bin/bash"]')
}

# The deployment rehearsal runs the published manifest's replicas behind one address, as a cloud platform's ingress
# would; HAProxy from Debian, configured from the environment by loadbalancer/entrypoint.sh.
recipe_loadbalancer() {
    IMAGE=datastack-standin/loadbalancer:bookworm
    FOR="a cloud platform's load balancer in front of an app's replicas (the deployment rehearsal), from Debian bookworm's HAProxy"
    SUITE=bookworm INCLUDE="haproxy" DIR="$here/loadbalancer"
    HOOKS=(
        'upload "'"$DIR"'/entrypoint.sh" /usr/local/bin/loadbalancer-entrypoint.sh'
        'chmod 0755 "$1/usr/local/bin/loadbalancer-entrypoint.sh"'
    )
    CHANGES=(
        'USER haproxy'
        'EXPOSE 8080'
        'ENTRYPOINT ["/usr/local/bin/loadbalancer-entrypoint.sh"]'
    )
}

# The runner target of Jupyter/Dockerfile runs on any Python image with pip; CI shows it on this one, which has no
# Jupyter server and nothing of docker-stacks' contract. Like the official python images, a venv is first on PATH, so
# pip installs without PEP 668's refusal; it sees Debian's packages (--system-site-packages). ipykernel, nbclient and
# nbformat are for notebook jobs; the OpenTelemetry SDK comes from the wheelhouse as in the jupyter stand-in.
recipe_python() {
    IMAGE=datastack-standin/python:trixie
    FOR="a plain Python image with pip (docker.io/library/python), from Debian trixie's Python 3.13 packages, without Jupyter"
    SUITE=trixie DIR=""
    INCLUDE="python3 python3-venv python3-pip python3-setuptools python3-pandas python3-psycopg python3-requests python3-tqdm"
    INCLUDE+=" python3-nbclient python3-nbformat python3-ipykernel ca-certificates"
    local otel
    opentelemetry_wheels "a runner built on it exports no spans"
    HOOKS=('chroot "$1" python3 -m venv --system-site-packages /opt/venv')
    if [ "$otel" != none ]; then
        HOOKS+=(
            'mkdir -p "$1/tmp/wheelhouse"'
            'sync-in "'"$WHEELHOUSE"'" /tmp/wheelhouse'
            'chroot "$1" /bin/sh -c "/opt/venv/bin/pip install --quiet --no-index --no-deps --no-cache-dir --disable-pip-version-check /tmp/wheelhouse/*.whl"'
            'rm -rf "$1/tmp/wheelhouse"'
        )
    fi
    HOOKS+=('chroot "$1" /opt/venv/bin/python -W ignore -c "import pandas, psycopg, requests, tqdm, nbclient, nbformat, ipykernel"')
    CHANGES=(
        'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        'ENV LANG=C.UTF-8'
        "LABEL org.datastack.standin.opentelemetry=$otel"
        'CMD ["python3"]'
    )
}

recipe_hash() {
    local key="$1"
    {
        declare -f build_image "recipe_${key//-/_}"
        ! declare -f "recipe_${key//-/_}" | grep -q opentelemetry_wheels || declare -f opentelemetry_wheels
        printf '%s\n' "${COMMON_OPTS[@]}"
        [ -z "$INPUTS" ] || printf '%s\n' "$INPUTS"
        if [ -n "$DIR" ]; then
            (cd "$DIR" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
        fi
    } | sha256sum | cut -c1-16
}

build_image() {   # $1 = key; its recipe has run (IMAGE, SUITE, INCLUDE, DIR, HOOKS, CHANGES, INPUTS are its)
    local key="$1" hash current started mirror log
    hash="$(recipe_hash "$key")"
    current="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL_RECIPE\" }}" "$IMAGE" 2>/dev/null || true)"
    if [ "$current" = "$hash" ] && [ "${FORCE:-no}" != yes ]; then
        say "$IMAGE: up to date (recipe $hash)"
        return 0
    fi
    say "$IMAGE: building (recipe $hash; was ${current:-absent})"
    started=$SECONDS
    mirror="$(debian_mirror)"
    local args=("${COMMON_OPTS[@]}") change hook staging="${IMAGE%:*}:building-$hash"
    [ -n "$INCLUDE" ] && args+=("--include=${INCLUDE// /,}")
    for hook in "${HOOKS[@]}"; do args+=("--customize-hook=$hook"); done
    local import=(--change "LABEL $LABEL_RECIPE=$hash" --change "LABEL $LABEL_FOR=\"test fixture standing in for $FOR\"")
    for change in "${CHANGES[@]}"; do import+=(--change "$change"); done
    log="$(mktemp --suffix=.log)"
    if ! mmdebstrap "${args[@]}" "$SUITE" - \
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SUITE main" 2>"$log" \
        | docker import "${import[@]}" - "$staging" >/dev/null; then
        tail -n 40 "$log" >&2
        docker image rm "$staging" >/dev/null 2>&1 || true
        fail "$IMAGE: build failed (mmdebstrap log: $log)"
    fi
    rm -f "$log"
    # Tagged only once the whole file system arrived: a failed build never leaves a half image under the name.
    docker tag "$staging" "$IMAGE"
    docker image rm "$staging" >/dev/null
    say "$IMAGE: built in $((SECONDS - started))s, $(docker image inspect -f '{{ .Size }}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1000000 }')"
}

[ "$(id -u)" = 0 ] || fail "run as root (mmdebstrap builds root file systems)"
command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing (run tests/images/install-docker.sh)"
docker info >/dev/null 2>&1 || fail "Docker does not answer (run tests/images/install-docker.sh)"

keys=("$@")
[ "${#keys[@]}" -gt 0 ] || keys=(debian postgres dcp-tunnel-base jupyter-base loadbalancer python)
total_start=$SECONDS
for key in "${keys[@]}"; do
    declare -F "recipe_${key//-/_}" >/dev/null || fail "unknown image key '$key' (debian, postgres, jupyter-base, dcp-tunnel-base, loadbalancer, python)"
    INPUTS="" NOTE=""
    "recipe_${key//-/_}"
    [ -z "$NOTE" ] || say "$NOTE"
    if docker image inspect "$IMAGE" >/dev/null 2>&1 \
        && { [ -z "$(docker image inspect -f "{{ index .Config.Labels \"$LABEL_FOR\" }}" "$IMAGE")" ] \
             || [ "$(docker image inspect -f '{{ len .RepoDigests }}' "$IMAGE")" != 0 ]; }; then
        # Pulled from its registry (it has a digest) or built otherwise: the real image, or someone else's. Replacing
        # it with a Debian stand-in would shadow it on this machine for every program that uses the name.
        say "WARNING: $IMAGE exists and is not a stand-in built here (pulled from a registry, or built otherwise): NOT replacing it. The stand-ins are for machines with no registry only; 'docker image rm $IMAGE' first to use the stand-in."
        continue
    fi
    build_image "$key"
done
say "done in $((SECONDS - total_start))s"
