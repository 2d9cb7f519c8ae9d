#!/bin/bash
# TEST FIXTURE standing in for docker-stacks' start.sh (quay.io/jupyter/*-notebook images), for datastack-standin/jupyter-base:trixie.
# The same semantics for what DataStack's Jupyter/Dockerfile and start-notebook.d hooks rely on:
#   - started as root: sources /usr/local/bin/start-notebook.d/*.sh (runs other executables there), then
#     refits NB_USER to NB_UID / NB_GID, chowns CHOWN_EXTRA (comma-separated, with CHOWN_EXTRA_OPTS) and,
#     with CHOWN_HOME=yes, the home folder, runs /usr/local/bin/before-notebook.d/* and drops to NB_USER
#     (setpriv instead of sudo) keeping the environment, with HOME and PATH set for that user;
#   - started as another user: runs the hooks it can and the command as that user.
# Not honoured: NB_USER renaming, GRANT_SUDO, JUPYTERHUB_*, RESTARTABLE.
set -e

_log() { echo "start.sh: $*" >&2; }

run_hooks() {
    local dir="$1" f
    [ -d "$dir" ] || return 0
    _log "running hooks in $dir as uid $(id -u)"
    for f in "$dir"/*; do
        case "$f" in
            *.sh) _log "sourcing $f"; # shellcheck disable=SC1090
                  source "$f" ;;
            *) if [ -x "$f" ]; then _log "running $f"; "$f" || { _log "$f failed"; exit 1; }; fi ;;
        esac
    done
}

if [ $# -eq 0 ]; then
    set -- start-notebook.py
fi

run_hooks /usr/local/bin/start-notebook.d

if [ "$(id -u)" = 0 ]; then
    NB_USER="${NB_USER:-jovyan}" NB_UID="${NB_UID:-1000}" NB_GID="${NB_GID:-100}"
    if [ "$NB_GID" != "$(id -g "$NB_USER")" ]; then
        _log "setting the group of $NB_USER to $NB_GID"
        groupadd --force --gid "$NB_GID" --non-unique "${NB_GROUP:-$NB_USER}"
        usermod --gid "$NB_GID" "$NB_USER"
    fi
    if [ "$NB_UID" != "$(id -u "$NB_USER")" ]; then
        _log "setting the uid of $NB_USER to $NB_UID"
        usermod --non-unique --uid "$NB_UID" "$NB_USER"
    fi
    if [ "${CHOWN_HOME:-no}" = yes ] || [ "$NB_UID" != "$(stat -c %u "/home/$NB_USER")" ]; then
        _log "handing /home/$NB_USER to $NB_UID:$NB_GID"
        # shellcheck disable=SC2086
        chown ${CHOWN_HOME_OPTS:-} "$NB_UID:$NB_GID" "/home/$NB_USER"
    fi
    if [ -n "${CHOWN_EXTRA:-}" ]; then
        IFS=, read -r -a _extra <<<"$CHOWN_EXTRA"
        for _dir in "${_extra[@]}"; do
            _log "handing $_dir to $NB_UID:$NB_GID"
            # shellcheck disable=SC2086
            chown ${CHOWN_EXTRA_OPTS:-} "$NB_UID:$NB_GID" "$_dir"
        done
    fi
    run_hooks /usr/local/bin/before-notebook.d
    _log "running as $NB_USER ($NB_UID:$NB_GID): $*"
    export HOME="/home/$NB_USER" USER="$NB_USER" LOGNAME="$NB_USER"
    exec setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups -- "$@"
fi

run_hooks /usr/local/bin/before-notebook.d
_log "running as uid $(id -u): $*"
exec "$@"
