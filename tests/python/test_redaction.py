"""What leaves the kernel in a span is masked: the package's secrets, and values that look like credentials."""

from datastack import redaction

ENV = {
    "DATASTACK_API_KEY": "dk-0123456789",
    "ANALYTICS_URI": "postgresql://app:p%40ss%2Fword@db:5432/analytics",
    "ConnectionStrings__analytics": "Host=db;Port=5432;Username=app;Password=npg-secret-1;Database=analytics",
    "JUPYTER_TOKEN": "jt-abcdef",
    "OTEL_EXPORTER_OTLP_HEADERS": "x-otlp-api-key=otlp-k3y,other=v2-long",
}


def test_the_api_key_the_passwords_the_token_and_the_otlp_headers_are_masked():
    """Each secret of the wiring contract is replaced wherever it appears."""
    text = "dk-0123456789 p@ss/word npg-secret-1 jt-abcdef otlp-k3y v2-long"
    assert redaction.scrub(text, ENV) == "*** *** *** *** *** ***"


def test_the_url_encoded_form_of_a_password_is_masked_too():
    """A password as it appears in a URI (percent-encoded) is masked as well."""
    assert redaction.scrub("uri: ...:p%40ss%2Fword@db", ENV) == "uri: ...:***@db"


def test_a_registered_secret_is_masked_from_then_on():
    """connect() registers the key and password it was given, whatever their source."""
    redaction.register("given-to-connect-77")
    assert redaction.scrub("key given-to-connect-77 here", {}) == "key *** here"


def test_credential_looking_assignments_are_masked():
    """Quoted values assigned to password/secret/token/api_key names, Password= and URL passwords."""
    cell = "\n".join(
        [
            'OPENAI_API_KEY = "sk-live-1"',
            "db_password='hunter2'",
            'os.environ["GITHUB_TOKEN"] = "ghp_x"',
            'connect(api_key="abc")',
            '{"client_secret": "cs-1"}',
            'cs = "Host=h;Password=pw1;Database=d"',
            'uri = "postgresql://u:pw2@h/db"',
        ]
    )
    masked = redaction.scrub(cell, {})
    for value in ("sk-live-1", "hunter2", "ghp_x", '"abc"', "cs-1", "pw1", "pw2"):
        assert value not in masked
    assert 'OPENAI_API_KEY = "***"' in masked and "Password=***;" in masked and "postgresql://u:***@h/db" in masked


def test_ordinary_code_is_left_alone():
    """Code without credentials comes out unchanged."""
    cell = 'df = client.sql("select key, token_count from t where id = 1")\nurl = "http://processing:8080"'
    assert redaction.scrub(cell, {}) == cell


def test_a_secret_too_short_to_protect_anything_is_not_used_as_a_mask():
    """A 1-3 character 'key' (a test value) would mask every letter it contains; it is ignored."""
    assert redaction.scrub("keys and tokens", {"DATASTACK_API_KEY": "k"}) == "keys and tokens"


def test_a_value_holding_the_other_quote_is_masked_whole():
    """api_key = "it's" is masked up to its closing quote."""
    assert redaction.scrub('api_key = "it\'s-a-key"', {}) == 'api_key = "***"'
