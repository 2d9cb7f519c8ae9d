#!/usr/bin/env python3
# TEST FIXTURE standing in for docker-stacks' start-notebook.py, for datastack-standin/jupyter-base:trixie.
# Starts `jupyter <DOCKER_STACKS_JUPYTER_CMD, default lab>` with NOTEBOOK_ARGS and this script's arguments.
# Address, port and no-browser come from /etc/jupyter/jupyter_server_config.py; the token from JUPYTER_TOKEN,
# which Jupyter Server reads itself (it never appears on a command line).
import os
import shlex
import sys

command = ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
os.execvp(command[0], command)
