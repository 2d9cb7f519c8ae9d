#!/usr/bin/env bash
# Installs and starts the Docker engine the AppHost's orchestrator (DCP) needs, on Debian bookworm, as root.
# Called by .ci/run; safe to run again (each step checks first, so a second run takes a few seconds).
#
#   1. apt: docker.io (daemon 20.10), mmdebstrap (builds the stand-in images), ca-certificates.
#   2. dockerd: started in the background (no systemd) when `docker info` does not answer; log in
#      $DOCKERD_LOG; waits until the daemon answers, bounded by $DOCKERD_WAIT_SECONDS.
#   3. docker CLI >= 25 first on PATH (DCP refuses older clients; bookworm's own is 20.10). If none is
#      there, the docker binary of Debian trixie's docker-cli .deb is unpacked into
#      /usr/local/lib/datastack/docker-cli and linked as $DATASTACK_BIN_DIR/docker (default /usr/local/bin;
#      the package itself is not installed). Set DATASTACK_DOCKER_CLI_FROM_TRIXIE=no to fail instead.
#   4. buildx CLI plugin (DCP builds images with `docker build --progress plain`, which needs BuildKit's
#      client): the binary of Debian trixie's docker-buildx .deb, unpacked into $DOCKER_CLI_PLUGINS.
#   The trixie .debs are fetched by apt pointed at a separate state folder (see lib.sh): nothing from trixie
#   is installed system-wide, and the mirror is the one this machine's apt sources already use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
DOCKERD_WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
DOCKERD_ARGS="${DOCKERD_ARGS:-}" # extra dockerd options, split on spaces
DOCKER_CLI_PLUGINS="${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}"
DATASTACK_BIN_DIR="${DATASTACK_BIN_DIR:-/usr/local/bin}" # where the trixie docker CLI is linked, if needed
MIN_CLI_MAJOR=25

say() { printf 'install-docker: %s\n' "$*"; }
fail() { printf 'install-docker: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (it installs packages and starts dockerd)"

# 1. Debian packages (bookworm, the machine's own sources).
missing=()
for pkg in docker.io mmdebstrap ca-certificates; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "docker.io, mmdebstrap present"
fi

# 3 (first, because the checks below use it). A docker CLI >= 25 first on PATH.
cli_major() { "$1" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1 || true; }
docker_cli="$(command -v docker || true)"
major="$([ -n "$docker_cli" ] && cli_major "$docker_cli" || true)"
if [ -z "$major" ] || [ "$major" -lt "$MIN_CLI_MAJOR" ]; then
    found="${docker_cli:-none}${major:+ (client $major.x)}"
    if [ "${DATASTACK_DOCKER_CLI_FROM_TRIXIE:-yes}" = no ]; then
        fail "docker CLI >= $MIN_CLI_MAJOR is missing (first docker on PATH: $found). Install one first on PATH."
    fi
    say "docker CLI >= $MIN_CLI_MAJOR missing (first on PATH: $found): unpacking trixie's docker-cli"
    link="$DATASTACK_BIN_DIR/docker"
    if [ -e "$link" ] && [ "$(readlink "$link" || true)" != /usr/local/lib/datastack/docker-cli/docker ]; then
        fail "docker CLI >= $MIN_CLI_MAJOR is missing and $link is someone else's (client ${major:-?}): replace it with a CLI >= $MIN_CLI_MAJOR"
    fi
    trixie_apt_update
    work="$(mktemp -d)"
    (cd "$work" && trixie_download docker-cli)
    dpkg-deb -x "$work"/docker-cli_*.deb "$work/x"
    install -D -m 0755 "$work/x/usr/bin/docker" /usr/local/lib/datastack/docker-cli/docker
    mkdir -p "$DATASTACK_BIN_DIR"
    ln -sf /usr/local/lib/datastack/docker-cli/docker "$link"
    rm -rf "$work"
    hash -r
    docker_cli="$(command -v docker || true)"
    major="$(cli_major "$docker_cli")"
    [ -n "$major" ] && [ "$major" -ge "$MIN_CLI_MAJOR" ] \
        || fail "docker CLI >= $MIN_CLI_MAJOR is still not first on PATH (first: ${docker_cli:-none}); put $DATASTACK_BIN_DIR before /usr/bin on PATH"
fi
say "docker CLI: $docker_cli (client $("$docker_cli" version --format '{{.Client.Version}}' 2>/dev/null))"

# 2. The daemon.
if docker info >/dev/null 2>&1; then
    say "dockerd answers"
else
    command -v dockerd >/dev/null || fail "dockerd is missing (package docker.io)"
    say "starting dockerd (log: $DOCKERD_LOG)"
    # shellcheck disable=SC2086
    nohup dockerd $DOCKERD_ARGS </dev/null >>"$DOCKERD_LOG" 2>&1 &
    dockerd_pid=$!
    deadline=$((SECONDS + DOCKERD_WAIT_SECONDS))
    until docker info >/dev/null 2>&1; do
        kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 20 "$DOCKERD_LOG" >&2; fail "dockerd exited (see $DOCKERD_LOG)"; }
        [ "$SECONDS" -lt "$deadline" ] || { tail -n 20 "$DOCKERD_LOG" >&2; fail "dockerd did not answer within ${DOCKERD_WAIT_SECONDS}s"; }
        sleep 0.5 # poll interval between readiness checks, not a wait for readiness
    done
    say "dockerd answers (pid $dockerd_pid, after $((SECONDS - deadline + DOCKERD_WAIT_SECONDS))s)"
fi

# 4. buildx plugin.
if docker buildx version >/dev/null 2>&1; then
    say "buildx: $(docker buildx version)"
else
    say "buildx missing: unpacking trixie's docker-buildx into $DOCKER_CLI_PLUGINS"
    trixie_apt_update
    work="$(mktemp -d)"
    (cd "$work" && trixie_download docker-buildx)
    dpkg-deb -x "$work"/docker-buildx_*.deb "$work/x"
    plugin="$(find "$work/x" -type f -path '*/cli-plugins/docker-buildx' | head -n 1)"
    [ -n "$plugin" ] || fail "no docker-buildx binary in $(ls "$work"/docker-buildx_*.deb)"
    install -D -m 0755 "$plugin" "$DOCKER_CLI_PLUGINS/docker-buildx"
    rm -rf "$work"
    docker buildx version >/dev/null 2>&1 \
        || fail "docker buildx does not answer after installing $DOCKER_CLI_PLUGINS/docker-buildx"
    say "buildx: $(docker buildx version)"
fi

# Check: a BuildKit build with plain progress, the way DCP runs it (FROM scratch: no registry needed).
work="$(mktemp -d)"
printf 'FROM scratch\nCOPY hello /hello\n' >"$work/Dockerfile"
echo ok >"$work/hello"
if ! out="$(docker build --progress plain -t datastack-check/build:latest "$work" 2>&1)"; then
    rm -rf "$work"
    printf '%s\n' "$out" >&2
    fail "docker build --progress plain failed"
fi
rm -rf "$work"
docker image rm datastack-check/build:latest >/dev/null 2>&1 || true
say "docker build --progress plain works"
