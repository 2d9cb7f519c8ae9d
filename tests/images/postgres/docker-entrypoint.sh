#!/bin/bash
# TEST FIXTURE standing in for the official postgres image's entrypoint (docker.io/library/postgres), for datastack-standin/postgres:15.
# It honours the part of that image's contract the Aspire AppHost uses (Aspire.Hosting.PostgreSQL 13.6.5):
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_DB (optional), POSTGRES_HOST_AUTH_METHOD (pg_hba.conf method for TCP clients, default
#   scram-sha-256), POSTGRES_INITDB_ARGS (Aspire passes --auth-host=scram-sha-256 --auth-local=scram-sha-256),
#   PGDATA=/var/lib/postgresql/data (WithDataVolume's mount for tags < 18: an empty folder is initialised,
#   an initialised one reused), /docker-entrypoint-initdb.d/*.sql|*.sh on first start, port 5432 on all
#   addresses, the server running as the postgres user, logs on stderr, SIGTERM/SIGINT -> fast shutdown.
# Not honoured: POSTGRES_*_FILE secrets, POSTGRES_INITDB_WALDIR, compressed init scripts.
set -Eeuo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA

# As root: own the data folder (a fresh volume is root's) and the socket folder, then run this script again as
# postgres. The server never runs as root.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres /var/run/postgresql
    chmod 3777 /var/run/postgresql
    if [ "$(stat -c %U "$PGDATA")" != postgres ]; then
        chown -R postgres:postgres "$PGDATA"
    fi
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

# Arguments are passed to the server (as `docker run image -c shared_buffers=256MB` does with the official image).
if [ "${1:-}" = postgres ]; then
    shift
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    POSTGRES_USER="${POSTGRES_USER:-postgres}"
    POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
    auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD to a non-empty value for the superuser, or POSTGRES_HOST_AUTH_METHOD=trust
       to allow all connections without a password (never do that outside a test).
MSG
        exit 1
    fi
    echo "docker-entrypoint: initialising $PGDATA for user $POSTGRES_USER"
    # Word splitting of POSTGRES_INITDB_ARGS is intended (the official image does the same).
    # shellcheck disable=SC2086
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") ${POSTGRES_INITDB_ARGS:-}
    printf '\nlisten_addresses = '"'"'*'"'"'\n' >>"$PGDATA/postgresql.conf"
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # Init work on a server that listens on the socket only, as the official image does.
    export PGPASSWORD="${POSTGRES_PASSWORD:-}" PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) echo "docker-entrypoint: running $f"; . "$f" ;;
            *.sql) echo "docker-entrypoint: running $f"; psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$f" ;;
            *) [ -e "$f" ] && echo "docker-entrypoint: ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD PGUSER PGHOST
    echo "docker-entrypoint: initialised; starting the server"
else
    echo "docker-entrypoint: $PGDATA is initialised; starting the server"
fi

# The server runs as a child so that SIGTERM (what docker stop and DCP send; docker 20.10 cannot import a STOPSIGNAL) becomes a fast shutdown (SIGINT):
# sessions are cut and the server stops at once, instead of PostgreSQL's smart shutdown waiting for clients.
postgres -D "$PGDATA" "$@" &
server=$!
trap 'kill -INT "$server" 2>/dev/null' TERM INT
status=0
while kill -0 "$server" 2>/dev/null; do
    wait "$server" && status=0 || status=$?
done
exit "$status"
