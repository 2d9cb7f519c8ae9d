"""Client behaviour that needs no running stack: errors name the variable, the server's answer, never the key."""

import http.server
import json
import socket
import threading

import pytest

from prereq import need

need("pandas", "requests", "tqdm")

import pandas as pd  # noqa: E402

import datastack as ds  # noqa: E402

SECRET = "k3y-that-must-never-leak"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProblemServer:
    """A one-route HTTP server that answers every request with a fixed problem+json response."""

    def __init__(self, status, body):
        outer = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                outer.requests.append((self.command, self.path, dict(self.headers)))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_connect_with_nothing_set_names_the_variables(monkeypatch):
    """connect() in an empty environment lists the variables Aspire should have injected."""
    for name in ("ANALYTICS_URI", "ConnectionStrings__analytics", "PROCESSING_HTTP", "services__processing__http__0", "DATASTACK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ds.ConfigurationError) as e:
        ds.connect()
    assert "ANALYTICS_URI" in str(e.value) and "PROCESSING_HTTP" in str(e.value) and "DATASTACK_API_KEY" in str(e.value)


CONTRACT = ("ANALYTICS_URI", "ConnectionStrings__analytics", "PROCESSING_HTTP", "services__processing__http__0", "DATASTACK_API_KEY")


def test_connect_reports_everything_missing_at_once(monkeypatch):
    """connect() with only a Processing URL fails at once, naming the API key and the database, not the URL."""
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROCESSING_HTTP", "http://127.0.0.1:1")
    with pytest.raises(ds.ConfigurationError) as e:
        ds.connect()
    message = str(e.value)
    assert "DATASTACK_API_KEY" in message and "Processing__ApiKey" in message
    assert "ANALYTICS_URI" in message and "ConnectionStrings__analytics" in message
    assert "PROCESSING_HTTP" not in message


def test_connect_without_a_key_is_refused_unless_it_is_empty_on_purpose(monkeypatch):
    """A Processing URL without DATASTACK_API_KEY is an error; api_key="" (an anonymous Processing) is accepted."""
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROCESSING_HTTP", "http://127.0.0.1:1")
    with pytest.raises(ds.ConfigurationError, match="DATASTACK_API_KEY"):
        ds.connect(database=False)
    assert ds.connect(database=False, api_key="").processing_url == "http://127.0.0.1:1"


def test_sql_only_client_needs_only_the_database(monkeypatch):
    """connect(processing=False) needs only the database; a Processing call then names the variables."""
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANALYTICS_URI", "postgresql://u:p@h:5432/analytics")
    client = ds.connect(processing=False)
    assert client.postgres.host == "h" and client.processing_url is None
    with pytest.raises(ds.ConfigurationError, match="PROCESSING_HTTP"):
        client.datasets()


def test_upload_without_processing_url_names_the_variables(monkeypatch):
    """With only the database configured, Processing calls say which variable is missing."""
    monkeypatch.delenv("PROCESSING_HTTP", raising=False)
    monkeypatch.delenv("services__processing__http__0", raising=False)
    client = ds.connect(analytics="Host=h;Database=d", processing=False)
    with pytest.raises(ds.ConfigurationError) as e:
        client.datasets()
    assert "PROCESSING_HTTP" in str(e.value) and "services__processing__http__0" in str(e.value)


def test_sql_without_database_names_the_variables(monkeypatch):
    """With only Processing configured, sql() says which variable is missing."""
    monkeypatch.delenv("ANALYTICS_URI", raising=False)
    monkeypatch.delenv("ConnectionStrings__analytics", raising=False)
    client = ds.connect(processing_url="http://127.0.0.1:1", api_key=SECRET, database=False)
    with pytest.raises(ds.ConfigurationError) as e:
        client.sql("select 1")
    assert "ANALYTICS_URI" in str(e.value) and "ConnectionStrings__analytics" in str(e.value)


def test_unreachable_processing_is_a_short_clear_error():
    """A refused connection becomes 'cannot reach Processing at URL: connection refused', without the requests chain."""
    url = f"http://127.0.0.1:{free_port()}"
    client = ds.connect(processing_url=url, api_key=SECRET, database=False, progress=False)
    with pytest.raises(ds.ProcessingUnreachable) as e:
        client.datasets()
    assert str(e.value).startswith(f"cannot reach Processing at {url}: connection refused")
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert SECRET not in str(e.value)


def test_repr_never_shows_the_key_or_password():
    """repr()/str() of a client hide the API key and the database password."""
    client = ds.connect(analytics="postgresql://u:dbpassw0rd@h:5432/analytics", processing_url="http://p:1", api_key=SECRET)
    for text in (repr(client), str(client)):
        assert SECRET not in text and "dbpassw0rd" not in text
    assert "api_key=set" in repr(client)


def test_401_reports_status_title_detail_and_which_variable():
    """A 401 problem+json becomes AuthenticationError with the server's title/detail and a DATASTACK_API_KEY hint."""
    problem = {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "Missing or invalid API key."}
    with ProblemServer(401, problem) as server:
        client = ds.connect(processing_url=server.url, api_key=SECRET, database=False, progress=False)
        with pytest.raises(ds.AuthenticationError) as e:
            client.datasets()
    message = str(e.value)
    assert e.value.status == 401
    assert "401" in message and "Unauthorized" in message and "Missing or invalid API key." in message
    assert "DATASTACK_API_KEY" in message
    assert SECRET not in message
    assert server.requests[0][2]["Authorization"] == f"Bearer {SECRET}"


def test_401_without_a_key_says_the_variable_is_not_set(monkeypatch):
    """Without DATASTACK_API_KEY a 401 says the variable is not set."""
    monkeypatch.delenv("DATASTACK_API_KEY", raising=False)
    with ProblemServer(401, {"title": "Unauthorized", "status": 401}) as server:
        client = ds.connect(processing_url=server.url, api_key="", database=False, progress=False)
        with pytest.raises(ds.AuthenticationError) as e:
            client.dataset("events")
    assert "DATASTACK_API_KEY is not set" in str(e.value)
    assert "Authorization" not in server.requests[0][2]


def test_validation_problem_lists_field_errors():
    """A 400 validation problem shows each field's messages."""
    problem = {"title": "One or more validation errors occurred.", "status": 400, "errors": {"mode": ["must be fail, replace or append"]}}
    with ProblemServer(400, problem) as server:
        client = ds.connect(processing_url=server.url, api_key="", database=False, progress=False)
        with pytest.raises(ds.ProcessingError) as e:
            client.transform("daily", "select 1")
    assert "400" in str(e.value) and "mode: must be fail, replace or append" in str(e.value)


def test_upload_rejects_bad_names_and_modes_before_any_request():
    """Dataset names and modes are checked locally first."""
    client = ds.connect(processing_url="http://127.0.0.1:1", api_key="", database=False, progress=False)
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="invalid dataset name"):
        client.upload(frame, "Bad-Name")
    with pytest.raises(ValueError, match="mode"):
        client.upload(frame, "good", mode="overwrite")


def test_job_failed_message_names_row_and_column():
    """A failed job's error says where the data went wrong."""
    job = ds.Job.from_json(
        {"id": "42", "kind": "ingest", "status": "failed", "error": {"code": "bad_value", "message": "not a number: 'x'", "row": 17, "column": "fare"}}
    )
    message = str(ds.JobFailed(job))
    assert "row 17" in message and "column fare" in message and "not a number" in message
