#!/usr/bin/env bash
# Checks the stand-in images (TEST FIXTURES, built by build-standins.sh) against the contract the AppHost uses:
#   postgres      a fresh volume is initialised with Aspire's environment; psql with the password over TCP;
#                 a wrong password is refused; docker stop is a clean fast shutdown; a new container on the
#                 same volume reuses the data.
#   jupyter       Jupyter/Dockerfile builds offline on the stand-in base (PIP_INDEX_URL=none); the container,
#                 started as docker starts it (root, JUPYTER_TOKEN, bind mounts of notebooks and data), answers
#                 /api 200 without a token, serves JupyterLab at /lab?token=..., and the kernel's python imports
#                 datastack.
# Usage: check-standins.sh [postgres] [jupyter] (default both). Needs Docker, curl and psql on the host.
# JUPYTER_BASE_IMAGE overrides the base the Jupyter image is built on (default the stand-in).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
run_id="datastack-check-$$"
cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c" >/dev/null 2>&1 || true; done' EXIT

say() { printf 'check-standins: %s\n' "$*"; }
fail() { printf 'check-standins: FAILED: %s\n' "$*" >&2; exit 1; }

# Polls a command until it succeeds, at most $1 seconds (readiness of a server, not a fixed wait).
until_ok() {
    local limit="$1" deadline
    shift
    deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}

host_port() { docker port "$1" "$2" | head -n 1 | sed 's/.*://'; }

check_postgres() {
    local image=datastack-standin/postgres:15 volume="$run_id-pgdata" name="$run_id-pg" port password
    password="p$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    cleanup+=("docker rm -fv $name" "docker volume rm $volume")
    start_pg() {
        # The environment Aspire.Hosting.PostgreSQL 13.6.5 sets, and WithDataVolume's mount for tags < 18.
        docker run -d --name "$name" -p 127.0.0.1::5432 -v "$volume:/var/lib/postgresql/data" \
            -e POSTGRES_USER=postgres -e POSTGRES_PASSWORD="$password" \
            -e POSTGRES_HOST_AUTH_METHOD=scram-sha-256 \
            -e POSTGRES_INITDB_ARGS="--auth-host=scram-sha-256 --auth-local=scram-sha-256" "$image" >/dev/null
        port="$(host_port "$name" 5432)"
        until_ok 60 env PGPASSWORD="$password" psql "host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=2" -c 'select 1' \
            || { docker logs "$name" 2>&1 | tail -n 20; fail "postgres did not accept the password over TCP within 60s"; }
    }
    sql() { PGPASSWORD="$password" psql "host=127.0.0.1 port=$port user=postgres dbname=postgres" -v ON_ERROR_STOP=1 -tAc "$1"; }

    say "postgres: first start on an empty volume"
    start_pg
    sql "create table standin_check(x int); insert into standin_check values (42)" >/dev/null
    [ "$(sql "select current_setting('data_directory')")" = /var/lib/postgresql/data ] || fail "postgres data directory is not the volume"
    [ "$(sql "select pg_encoding_to_char(encoding) from pg_database where datname = 'postgres'")" = UTF8 ] || fail "postgres database is not UTF8"
    if PGPASSWORD=wrong psql "host=127.0.0.1 port=$port user=postgres dbname=postgres" -c 'select 1' >/dev/null 2>&1; then
        fail "postgres accepted a wrong password"
    fi
    docker stop "$name" >/dev/null
    [ "$(docker inspect -f '{{ .State.ExitCode }}' "$name")" = 0 ] || fail "postgres did not exit 0 on docker stop"
    docker logs "$name" 2>&1 | grep -q 'received fast shutdown request' || fail "postgres did not get a fast shutdown"
    docker rm "$name" >/dev/null

    say "postgres: a new container on the same volume"
    start_pg
    [ "$(sql 'select x from standin_check')" = 42 ] || fail "postgres lost the data on the volume"
    docker logs "$name" 2>&1 | grep -q 'is initialised; starting' || fail "postgres initialised the volume again"
    say "postgres: ok"
}

check_jupyter() {
    local image="$run_id-jupyter" name="$run_id-jupyter" token port work
    token="t$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    work="$(mktemp -d)"
    cleanup+=("docker rm -fv $name" "docker image rm $image" "rm -rf $work")
    # Copies, so the check never changes the owner of the repository's folders (the start hook may).
    mkdir -p "$work/notebooks" "$work/data"
    cp "$repo"/Jupyter/notebooks/*.ipynb "$work/notebooks/"

    say "jupyter: docker build on the stand-in base, PIP_INDEX_URL=none"
    docker build --progress plain -t "$image" --target jupyter \
        --build-arg BASE_IMAGE="${JUPYTER_BASE_IMAGE:-datastack-standin/jupyter-base:trixie}" --build-arg PIP_INDEX_URL=none \
        "$repo/Jupyter" >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log"; fail "Jupyter/Dockerfile did not build"; }

    say "jupyter: run as the AppHost does (root start, JUPYTER_TOKEN, bind mounts)"
    docker run -d --name "$name" -p 127.0.0.1::8888 -e JUPYTER_TOKEN="$token" \
        -v "$work/notebooks:/home/jovyan/work/notebooks" -v "$work/data:/data" "$image" >/dev/null
    port="$(host_port "$name" 8888)"
    until_ok 90 curl -fsS "http://127.0.0.1:$port/api" \
        || { docker logs "$name" 2>&1 | tail -n 30; fail "jupyter /api did not answer 200 within 90s"; }
    curl -fsS "http://127.0.0.1:$port/lab?token=$token" | grep -q 'JupyterLab' || fail "/lab?token=... does not serve JupyterLab"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/kernels")" = 403 ] || fail "the API answers without the token"
    curl -fsS -H "Authorization: token $token" "http://127.0.0.1:$port/api/kernelspecs" | grep -q '"python3"' || fail "no python3 kernel"
    # A real kernel (the python3 kernelspec, as a notebook gets it) imports the package and its dependencies.
    local out
    out="$(docker exec -u "$(docker exec "$name" stat -c %u /home/jovyan/work/notebooks)" -w /tmp "$name" python3 -c '
import os, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="python3")
reply = kc.execute_interactive(
    "import sys, datastack, pandas, psycopg, requests, tqdm; print(\"kernel:\", sys.executable, datastack.__file__)",
    timeout=120)
kc.stop_channels()
km.shutdown_kernel(now=True)
sys.stdout.flush()
os._exit(0 if reply["content"]["status"] == "ok" else 1)
' 2>&1)" || { printf '%s\n' "$out"; fail "the python3 kernel cannot import datastack"; }
    local kernel_python
    kernel_python="$(printf '%s\n' "$out" | sed -n 's/^kernel: //p')"
    local server_uid
    server_uid="$(docker top "$name" -eo pid,uid,args | awk '/jupyter-lab/ { print $2 }' | sort -u)"
    [ -n "$server_uid" ] && [ "$server_uid" != 0 ] || fail "the Jupyter server runs as uid '${server_uid:-?}', not the notebook user"
    [ "$(stat -c %u "$work/notebooks")" = "$server_uid" ] || fail "the notebooks mount was not handed to the notebook user"
    say "jupyter: ok (kernel python $kernel_python)"
}

checks=("$@")
[ "${#checks[@]}" -gt 0 ] || checks=(postgres jupyter)
for c in "${checks[@]}"; do
    case "$c" in
        postgres) check_postgres ;;
        jupyter) check_jupyter ;;
        *) fail "unknown check '$c' (postgres, jupyter)" ;;
    esac
done
say "all passed"
