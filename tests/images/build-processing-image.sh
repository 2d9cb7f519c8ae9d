#!/usr/bin/env bash
# Test fixture: builds Processing's deploy image where mcr.microsoft.com cannot be reached, on a local stand-in for mcr.microsoft.com/dotnet/runtime-deps.
#
# The product builds the image with the public base: `dotnet publish Processing -t:PublishContainer` (base
# mcr.microsoft.com/dotnet/aspnet, see docs/apphost.md). This script makes the same image offline:
#   1. a stand-in runtime-deps image, datastack-standin/dotnet-runtime-deps:bookworm, from Debian bookworm minbase
#      with the packages the official runtime-deps image installs (mirror read from this machine's apt sources);
#   2. a throwaway registry (Debian's docker-registry) on 127.0.0.1, because the SDK's container builder pulls its
#      base image from a registry, never from the local Docker daemon (SDK 10.0.401);
#   3. `dotnet publish -t:PublishContainer`, self-contained (the runtime packs come from NuGet) on that base, loaded
#      into the local Docker daemon as datastack-processing:dev.
# Idempotent: the stand-in is built once (DATASTACK_REBUILD_BASE=1 rebuilds it); the Processing image is rebuilt on
# every run. Nothing is installed; a missing tool stops the script with the package that provides it.
#
# Environment: DATASTACK_PROCESSING_IMAGE (default datastack-processing:dev), DATASTACK_REBUILD_BASE=1,
#              DATASTACK_DEBIAN_MIRROR (default: the first Debian source in /etc/apt).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=lib.sh
. "$repo/tests/images/lib.sh"
image="${DATASTACK_PROCESSING_IMAGE:-datastack-processing:dev}"
base_image="datastack-standin/dotnet-runtime-deps:bookworm"
# What the official runtime-deps Dockerfile installs (dotnet/dotnet-docker, src/runtime-deps/10.0/*), with bookworm's names.
base_packages="ca-certificates,libc6,libgcc-s1,libicu72,libssl3,libstdc++6,tzdata"
# The official images' non-root user; the SDK runs the app as APP_UID when the base image sets it.
app_uid=1654
work="$repo/artifacts/processing-image"
started=$SECONDS

say() { printf '[build-processing-image +%3ss] %s\n' "$((SECONDS - started))" "$*"; }
fail() { printf 'build-processing-image: %s\n' "$*" >&2; exit 1; }

# --- prerequisites (checked, never installed) ---------------------------------------------------------------
missing=()
command -v docker >/dev/null 2>&1 || missing+=("docker (the Docker CLI, and a running Docker Engine)")
command -v dotnet >/dev/null 2>&1 || missing+=("dotnet (the .NET 10 SDK)")
command -v curl >/dev/null 2>&1 || missing+=("curl: apt-get install curl")
command -v docker-registry >/dev/null 2>&1 || missing+=("docker-registry (a local image registry): apt-get install docker-registry")
[ ${#missing[@]} -eq 0 ] || fail "missing: $(printf '%s; ' "${missing[@]}")"
docker info >/dev/null 2>&1 || fail "'docker info' fails: start the Docker Engine (dockerd) and make sure this user may use it."

# --- 1. the stand-in base image ---------------------------------------------------------------------------------
if [ "${DATASTACK_REBUILD_BASE:-0}" != 1 ] && docker image inspect "$base_image" >/dev/null 2>&1; then
    say "stand-in base $base_image is present (DATASTACK_REBUILD_BASE=1 rebuilds it)"
else
    command -v mmdebstrap >/dev/null 2>&1 || fail "missing: mmdebstrap (builds the stand-in base image): apt-get install mmdebstrap"
    mirror="${DATASTACK_DEBIAN_MIRROR:-$(debian_mirror)}"
    [ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list{,.d/*}: set DATASTACK_DEBIAN_MIRROR."
    say "building stand-in base $base_image: bookworm minbase + $base_packages"
    # The user 'app' as the official Dockerfile creates it (groupadd/useradd are not in minbase: write the entries).
    # Documentation, manuals and translations are left out (copyright files stay), as in Debian's slim images.
    mmdebstrap --quiet --variant=minbase --include="$base_packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook="echo 'app:x:$app_uid:' >> \"\$1/etc/group\"" \
        --customize-hook="echo 'app:x:$app_uid:$app_uid::/home/app:/usr/sbin/nologin' >> \"\$1/etc/passwd\"" \
        --customize-hook="install -d -o $app_uid -g $app_uid \"\$1/home/app\"" \
        bookworm - "$mirror" \
        | docker import \
            --change "ENV APP_UID=$app_uid" \
            --change "ENV ASPNETCORE_HTTP_PORTS=8080" \
            --change "ENV DOTNET_RUNNING_IN_CONTAINER=true" \
            --message "Test fixture: stand-in for mcr.microsoft.com/dotnet/runtime-deps (Debian bookworm minbase)" \
            - "$base_image" >/dev/null \
        || fail "building $base_image failed (see mmdebstrap's messages above)."
    say "built $base_image ($(docker image inspect --format '{{.Size}}' "$base_image" | awk '{ printf "%d MB", $1 / 1000000 }'))"
fi

# --- 2. a throwaway registry on 127.0.0.1 serving the stand-in -------------------------------------------------
scratch="$(mktemp -d -t datastack-registry-XXXXXX)"
registry_pid=""
pushed=""
cleanup() {
    if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
    if [ -n "$pushed" ]; then docker image rm "$pushed" >/dev/null 2>&1 || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# A port nothing listens on; if another process takes it before the registry binds, the registry exits and we retry.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 10000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

for attempt in 1 2 3; do
    port="$(free_port)"
    cat >"$scratch/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $scratch/storage
http:
  addr: 127.0.0.1:$port
EOF
    docker-registry serve "$scratch/config.yml" >"$scratch/registry.log" 2>&1 &
    registry_pid=$!
    ready=""
    for _ in $(seq 1 100); do   # at most ~20 s
        if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$registry_pid" 2>/dev/null || break
        sleep 0.2
    done
    [ -n "$ready" ] && break
    kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; registry_pid=""
    say "registry on 127.0.0.1:$port did not start (attempt $attempt): $(tail -n 1 "$scratch/registry.log")"
done
[ -n "$registry_pid" ] || fail "the local registry (docker-registry) did not answer on /v2/; its log: $(cat "$scratch/registry.log")"
registry="127.0.0.1:$port"
say "registry ready at http://$registry"

pushed="$registry/$base_image"
docker tag "$base_image" "$pushed"
docker push --quiet "$pushed" >/dev/null || fail "docker push $pushed failed."
say "pushed the stand-in to the registry"

# --- 3. the image: SDK container support, self-contained on the stand-in ---------------------------------------
repository="${image%:*}"
tag="${image##*:}"
[ "$repository" != "$image" ] || tag=latest
say "dotnet publish Processing -t:PublishContainer -> $repository:$tag"
# The SDK talks plain HTTP only to 'localhost' by itself; the loopback address is named explicitly.
# --artifacts-path keeps this Release linux-x64 build out of the working tree's bin/ and obj/.
DOTNET_CONTAINER_INSECURE_REGISTRIES="$registry" \
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    dotnet publish "$repo/Processing/Processing.csproj" -c Release -r linux-x64 --self-contained \
        --artifacts-path "$work" -t:PublishContainer -nologo -v quiet \
        -p:ContainerBaseImage="$registry/$base_image" \
        -p:ContainerRepository="$repository" \
        -p:ContainerImageTags="$tag" \
    || fail "dotnet publish -t:PublishContainer failed (messages above)."

docker image inspect "$repository:$tag" >/dev/null 2>&1 || fail "the publish succeeded but $repository:$tag is not in the local Docker daemon."
say "done: $(docker image inspect --format '{{index .RepoTags 0}} user={{.Config.User}} ports={{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}size={{.Size}}' "$repository:$tag") in $((SECONDS - started)) s"
