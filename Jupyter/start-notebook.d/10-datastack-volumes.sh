#!/bin/bash
# Sourced by docker-stacks' start.sh (start-notebook.d) while still root, before it refits the
# jovyan user from NB_UID/NB_GID. Makes the bind-mounted folders writable without changing who owns
# the developer's files on the host:
#   - a mount owned by a regular host user: run Jupyter as that uid/gid (NB_UID/NB_GID);
#   - a mount owned by root (a folder the container runtime created): hand it to NB_UID (CHOWN_EXTRA).
# Opt out with DATASTACK_ALIGN_UID=no (then NB_UID / NB_GID / CHOWN_EXTRA are used as given).

if [ "$(id -u)" = 0 ] && [ "${DATASTACK_ALIGN_UID:-yes}" != "no" ]; then
    for _ds_dir in "/home/${NB_USER}/work/notebooks" /data; do
        [ -d "${_ds_dir}" ] || continue
        _ds_uid="$(stat -c %u "${_ds_dir}")"
        _ds_gid="$(stat -c %g "${_ds_dir}")"
        if [ "${_ds_uid}" = 0 ]; then
            export CHOWN_EXTRA="${CHOWN_EXTRA:+${CHOWN_EXTRA},}${_ds_dir}"
        elif [ "${_ds_uid}" != "${NB_UID}" ]; then
            echo "datastack: ${_ds_dir} belongs to ${_ds_uid}:${_ds_gid}; running Jupyter as that user"
            export NB_UID="${_ds_uid}"
            # Keep jovyan's group (users, 100) unless the folder's group is a real one.
            if [ "${_ds_gid}" != 0 ]; then
                export NB_GID="${_ds_gid}"
            fi
        fi
    done
    unset _ds_dir _ds_uid _ds_gid
fi
