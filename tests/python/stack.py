"""A throwaway DataStack without containers: a temporary PostgreSQL and a real Processing process,
wired with exactly the environment variables the AppHost injects into the jupyter container."""

from __future__ import annotations

import glob
import os
import pathlib
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

DATABASE = "analytics"
ROLE = "datastack"

# What the jupyter container receives and this harness does not set, on purpose: there is no Jupyter server
# here (JUPYTER_TOKEN), and telemetry and certificate trust are each test's own business.
NOT_SET_HERE = {"JUPYTER_TOKEN", "OTEL_*", "OTEL_EXPORTER_OTLP_CERTIFICATE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"}


def documented_jupyter_contract(repo: pathlib.Path) -> set[str]:
    """The variables docs/apphost.md says the AppHost injects into jupyter ("What each part receives").

    The stack test (AppHost.Tests, NotebookAcrossContainersTests) checks the same row against the real
    container's environment, so the harness, the documentation and the AppHost cannot drift apart.
    """
    text = (repo / "docs" / "apphost.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| jupyter | `")]
    if len(rows) != 1:
        pytest.fail("docs/apphost.md has no single '| jupyter | `…` |' row in 'What each part receives'", pytrace=False)
    return set(re.findall(r"`([^`]+)`", rows[0]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(process: subprocess.Popen | None, log: pathlib.Path, name: str, probe, timeout: float, interval: float = 0.1) -> None:
    """Ask ``probe()`` -> (healthy, what it saw) until healthy; fail with the log's tail when the process exits first
    or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"{name} exited with code {process.returncode} before it was healthy:\n{tail(log)}", pytrace=False)
        try:
            healthy, last = probe()
            if healthy:
                return
        except OSError as e:
            last = str(e)
        time.sleep(interval)
    pytest.fail(f"{name} was not healthy within {timeout:g} s (last: {last}):\n{tail(log)}", pytrace=False)


def eventually(check, timeout: float, what: str, interval: float = 0.1):
    """Ask ``check()`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: not within {timeout:g} s", pytrace=False)
        time.sleep(interval)


def tail(path: pathlib.Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def npgsql_quote(value: str) -> str:
    """Quote a value for an Npgsql connection string when it needs it."""
    if any(c in value for c in ";='\" ") or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


class PostgresServer:
    """initdb + pg_ctl in a temp dir; TCP on 127.0.0.1 with SCRAM passwords, a Unix socket for setup."""

    def __init__(self, root: pathlib.Path) -> None:
        self.bin = self._find_bin()
        self.root = root
        self.datadir = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.password = secrets.token_urlsafe(12) + "-p@ss;w=rd'x"

    @staticmethod
    def _find_bin() -> pathlib.Path:
        explicit = os.environ.get("PG_BIN")
        candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        for candidate in reversed(candidates):
            if candidate and (pathlib.Path(candidate) / "initdb").exists():
                return pathlib.Path(candidate)
        pytest.fail("PostgreSQL server binaries not found (initdb, pg_ctl): apt-get install -y postgresql-15, or set PG_BIN", pytrace=False)

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{tail(self.log)}", pytrace=False)

    def start(self) -> None:
        if self.as_postgres:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root needs the 'postgres' OS user to own the server (apt-get install -y postgresql-15 creates it)", pytrace=False)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(
            self.bin / "initdb",
            "-D", self.datadir,
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        )
        settings = (
            f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n"
            "password_encryption = 'scram-sha-256'\n"
        )
        with open(self.datadir / "postgresql.conf", "a") as f:
            f.write(settings)
        self._run(self.bin / "pg_ctl", "-D", self.datadir, "-l", self.log, "-w", "-t", "60", "start")
        self._create_database()

    def _create_database(self) -> None:
        import psycopg
        from psycopg import sql

        # Setup goes through the Unix socket (local trust); clients use TCP, where the password is checked.
        with psycopg.connect(host=str(self.root), port=self.port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(self.password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(ROLE)))

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            command = [str(self.bin / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"]
            if self.as_postgres:
                command = ["runuser", "-u", "postgres", "--", *command]
            subprocess.run(command, capture_output=True)

    @property
    def npgsql(self) -> str:
        return f"Host=127.0.0.1;Port={self.port};Username={ROLE};Password={npgsql_quote(self.password)};Database={DATABASE}"

    @property
    def uri(self) -> str:
        return f"postgresql://{ROLE}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{DATABASE}"


class ProcessingServer:
    """The Processing service as `dotnet Processing.dll`, configured like the AppHost configures it."""

    def __init__(self, repo: pathlib.Path, root: pathlib.Path, postgres: PostgresServer) -> None:
        self.repo = repo
        self.root = root
        self.postgres = postgres
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = secrets.token_urlsafe(24)
        self.data_dir = root / "data"
        self.log = root / "processing.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _dll(self) -> pathlib.Path:
        explicit = os.environ.get("DATASTACK_PROCESSING_DLL")
        if explicit:
            path = pathlib.Path(explicit)
            if not path.exists():
                pytest.fail(f"DATASTACK_PROCESSING_DLL points to {path}, which does not exist", pytrace=False)
            return path
        if shutil.which("dotnet") is None:
            pytest.fail("dotnet is not installed: install the .NET 10 SDK, or set DATASTACK_PROCESSING_DLL to a built Processing.dll", pytrace=False)
        project = self.repo / "Processing" / "Processing.csproj"
        if not project.exists():
            pytest.fail(f"{project} not found: the Processing service is needed for the live tests (merge main)", pytrace=False)
        build = subprocess.run(
            ["dotnet", "build", str(project), "-c", "Debug", "--nologo", "-v", "q"],
            capture_output=True,
            text=True,
        )
        if build.returncode != 0:
            pytest.fail(f"dotnet build {project} failed:\n{build.stdout[-4000:]}\n{build.stderr[-2000:]}", pytrace=False)
        return self.repo / "Processing" / "bin" / "Debug" / "net10.0" / "Processing.dll"

    def start(self) -> None:
        dll = self._dll()
        # A private copy of the data folder: tests may add files to it.
        shutil.copytree(self.repo / "data", self.data_dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ASPNETCORE_", "Processing__", "ConnectionStrings__"))}
        env.update(
            {
                "ConnectionStrings__analytics": self.postgres.npgsql,
                "Processing__ApiKey": self.api_key,
                "Processing__DataDir": str(self.data_dir),
                "Processing__WorkerConcurrency": "2",
                # Short leases (heartbeats every 2 s), so the job of a runner killed in a test runs again within seconds.
                "Processing__LeaseSeconds": "6",
                "ASPNETCORE_URLS": self.url,
                "ASPNETCORE_ENVIRONMENT": "Development",
                "DOTNET_NOLOGO": "1",
            }
        )
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                ["dotnet", str(dll)],
                cwd=str(dll.parent),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_healthy(timeout=90)

    def _wait_healthy(self, timeout: float) -> None:
        def probe() -> tuple[bool, str]:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    return response.status == 200, f"HTTP {response.status}"
            except urllib.error.HTTPError as e:
                return False, f"HTTP {e.code}"

        wait_healthy(self.process, self.log, f"Processing at {self.url}", probe, timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class LiveStack:
    """PostgreSQL + Processing + the jupyter container's environment."""

    def __init__(self, repo: pathlib.Path) -> None:
        self.repo = repo
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="datastack-live-"))
        self.postgres = PostgresServer(self.root)
        self.processing = ProcessingServer(repo, self.root, self.postgres)
        self._saved_env: dict[str, str | None] = {}

    @property
    def data_dir(self) -> pathlib.Path:
        return self.processing.data_dir

    def start(self) -> "LiveStack":
        self.postgres.start()
        self.processing.start()
        self._apply_env()
        return self

    def contract_env(self) -> dict[str, str]:
        """Exactly what the AppHost injects into jupyter (besides JUPYTER_TOKEN and OTEL_*)."""
        pg, processing = self.postgres, self.processing
        return {
            "ConnectionStrings__analytics": pg.npgsql,
            "ANALYTICS_URI": pg.uri,
            "ANALYTICS_HOST": "127.0.0.1",
            "ANALYTICS_PORT": str(pg.port),
            "ANALYTICS_USERNAME": ROLE,
            "ANALYTICS_PASSWORD": pg.password,
            "ANALYTICS_DATABASENAME": DATABASE,
            "services__processing__http__0": processing.url,
            "PROCESSING_HTTP": processing.url,
            "DATASTACK_API_KEY": processing.api_key,
        }

    def _apply_env(self) -> None:
        env = self.contract_env()
        documented = documented_jupyter_contract(self.repo)
        missing, extra = documented - NOT_SET_HERE - set(env), set(env) - documented
        if missing or extra:
            pytest.fail(f"the harness's environment differs from docs/apphost.md's jupyter row: missing {sorted(missing)}, not documented {sorted(extra)}", pytrace=False)
        # The image sets DATASTACK_DATA_DIR=/data; here it is the private copy Processing also uses.
        env["DATASTACK_DATA_DIR"] = str(self.data_dir)
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def stop(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        try:
            self.processing.stop()
        finally:
            self.postgres.stop()
            if os.environ.get("DATASTACK_KEEP_TEST_DIR"):
                print(f"kept {self.root}")
            else:
                shutil.rmtree(self.root, ignore_errors=True)
