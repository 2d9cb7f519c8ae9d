#!/bin/bash
# Sourced by docker-stacks' start.sh (start-notebook.d) while still root, before it refits the
# jovyan user from NB_UID/NB_GID. Makes the bind-mounted folders writable without changing who owns
# the developer's files on the host:
#   - a mount owned by a regular host user: run Jupyter as that uid/gid (NB_UID/NB_GID);
#   - what in a mount is owned by root (a checkout made as root, as on a server or in WSL as root, or a
#     folder the container runtime created): hand it to NB_UID. Jupyter saves a notebook by writing the
#     file itself, so a root-owned 01-getting-started.ipynb could not be saved otherwise. Root on the
#     host can still change every file.
# Opt out with DATASTACK_ALIGN_UID=no (then NB_UID / NB_GID / CHOWN_EXTRA are used as given).

if [ "$(id -u)" = 0 ] && [ "${DATASTACK_ALIGN_UID:-yes}" != "no" ]; then
    _ds_dirs=("/home/${NB_USER}/work/notebooks" "/home/${NB_USER}/work/pipelines" /data)
    for _ds_dir in "${_ds_dirs[@]}"; do
        [ -d "${_ds_dir}" ] || continue
        _ds_uid="$(stat -c %u "${_ds_dir}")"
        _ds_gid="$(stat -c %g "${_ds_dir}")"
        if [ "${_ds_uid}" != 0 ] && [ "${_ds_uid}" != "${NB_UID}" ]; then
            echo "datastack: ${_ds_dir} belongs to ${_ds_uid}:${_ds_gid}; running Jupyter as that user"
            export NB_UID="${_ds_uid}"
            # Keep jovyan's group (users, 100) unless the folder's group is a real one.
            if [ "${_ds_gid}" != 0 ]; then
                export NB_GID="${_ds_gid}"
            fi
        fi
    done
    for _ds_dir in "${_ds_dirs[@]}"; do   # once NB_UID is settled
        [ -d "${_ds_dir}" ] || continue
        if [ -n "$(find "${_ds_dir}" -xdev -user 0 -print -quit)" ]; then
            echo "datastack: handing what root owns in ${_ds_dir} to ${NB_UID}:${NB_GID}, so that notebooks, pipelines and data can be saved"
            find "${_ds_dir}" -xdev -user 0 -exec chown "${NB_UID}:${NB_GID}" {} +
        fi
    done
    unset _ds_dirs _ds_dir _ds_uid _ds_gid
fi
