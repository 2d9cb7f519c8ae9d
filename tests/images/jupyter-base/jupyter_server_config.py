# TEST FIXTURE standing in for docker-stacks' /etc/jupyter/jupyter_server_config.py, for datastack-standin/jupyter-base:trixie.
# Listen on every address on JUPYTER_PORT (8888), never open a browser. Authentication is Jupyter Server's
# default: the token from JUPYTER_TOKEN, or a generated one.
import os

c = get_config()  # noqa: F821 (defined by Jupyter's config loader)
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = int(os.environ.get("JUPYTER_PORT", "8888"))
c.ServerApp.open_browser = False
c.ServerApp.root_dir = os.getcwd()
