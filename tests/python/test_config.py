"""Wiring-contract parsing: connection strings, URIs, and which variable an error names."""

import pytest

from prereq import need

need("pandas", "requests")

from datastack import config  # noqa: E402
from datastack.errors import ConfigurationError  # noqa: E402


def test_npgsql_plain_string_parses_to_psycopg_arguments():
    """The form Aspire injects maps onto host, port, user, password and dbname."""
    pg = config.postgres_from_npgsql("Host=postgres;Port=5432;Username=postgres;Password=s3cret;Database=analytics")
    assert pg.connect_kwargs() == {"host": "postgres", "port": 5432, "user": "postgres", "password": "s3cret", "dbname": "analytics"}


def test_npgsql_keywords_are_case_insensitive_and_trimmed():
    """Keywords ignore case and surrounding whitespace; unquoted values are trimmed."""
    pg = config.postgres_from_npgsql("  HOST = db.local ; port= 6543 ;USERNAME=alice ; password = pw ;DATABASE=analytics;")
    assert (pg.host, pg.port, pg.user, pg.password, pg.dbname) == ("db.local", 6543, "alice", "pw", "analytics")


@pytest.mark.parametrize(
    "text",
    [
        "Server=h;User ID=u;Pwd=p;Db=d",
        "server=h;userid=u;PSW=p;database=d",
        "Host=h;UID=u;Password=p;DB=d",
        "Host=h;User Name=u;PWD=p;Database=d",
        "Host=h;Userid=u;Password=p;Database=d",
    ],
)
def test_npgsql_synonyms_are_understood(text):
    """Server, User ID, Userid, UID, User Name, Pwd, PSW and Db are synonyms of the canonical keywords."""
    pg = config.postgres_from_npgsql(text)
    assert (pg.host, pg.user, pg.password, pg.dbname) == ("h", "u", "p", "d")


def test_npgsql_double_quoted_value_may_hold_separators_and_doubled_quotes():
    """A double-quoted value keeps ';' and '=' and turns a doubled quote into one."""
    pg = config.postgres_from_npgsql('Host=h;Password="a;b=c""d";Username=u;Database=x')
    assert pg.password == 'a;b=c"d'
    assert pg.user == "u"


def test_npgsql_single_quoted_value_keeps_double_quotes_and_spaces():
    """A single-quoted value keeps inner spaces and double quotes; a doubled single quote is literal."""
    pg = config.postgres_from_npgsql("Host=h;Password=' it''s \"x\"; ';Database=d")
    assert pg.password == " it's \"x\"; "


def test_npgsql_whitespace_around_quoted_value_is_ignored():
    """Spaces between '=' and the opening quote, and after the closing quote, are not part of the value."""
    pg = config.postgres_from_npgsql("Host = h ; Password =  'p w'  ; Database=d")
    assert pg.password == "p w"


def test_npgsql_last_duplicate_wins_and_empty_pairs_are_skipped():
    """Repeated keywords keep the last value; ';;' is harmless."""
    pg = config.postgres_from_npgsql("Host=a;;Host=b;;;Database=d;")
    assert pg.host == "b"


def test_npgsql_escaped_equals_in_keyword_is_not_a_separator():
    """'==' inside a keyword is a literal '=' (unknown keyword kept out of the connection)."""
    raw = config.parse_connection_string("Odd==Key=v;Host=h")
    assert raw == {"odd=key": "v", "host": "h"}


def test_npgsql_port_defaults_and_host_port_form():
    """Port defaults to 5432; 'Host=name:port' supplies the port too."""
    assert config.postgres_from_npgsql("Host=h;Database=d").port == 5432
    pg = config.postgres_from_npgsql("Host=h:6000;Database=d")
    assert (pg.host, pg.port) == ("h", 6000)


def test_npgsql_ssl_mode_maps_to_libpq_names():
    """SSL Mode values are translated to libpq's spelling."""
    pg = config.postgres_from_npgsql("Host=h;Database=d;SSL Mode=VerifyFull")
    assert pg.connect_kwargs()["sslmode"] == "verify-full"


def test_npgsql_unterminated_quote_is_a_clear_error():
    """An unterminated quote names the keyword; the value is not echoed."""
    with pytest.raises(ConfigurationError) as e:
        config.postgres_from_npgsql("Host=h;Password='abc")
    assert "password" in str(e.value).lower()
    assert "abc" not in str(e.value)


def test_npgsql_keyword_without_value_is_an_error():
    """A bare keyword without '=' is rejected."""
    with pytest.raises(ConfigurationError):
        config.parse_connection_string("Host=h;Oops;Database=d")


def test_npgsql_missing_host_names_the_variable():
    """A connection string without Host says which variable it came from."""
    with pytest.raises(ConfigurationError) as e:
        config.postgres_from_npgsql("Database=d", config.ANALYTICS_CONNECTION_STRING)
    assert "ConnectionStrings__analytics" in str(e.value)


def test_uri_is_percent_decoded():
    """User and password in ANALYTICS_URI are percent-decoded."""
    pg = config.postgres_from_uri("postgresql://an%40lyst:p%3Aw%2Fd%40@db:5433/analytics?sslmode=require")
    assert (pg.user, pg.password, pg.host, pg.port, pg.dbname) == ("an@lyst", "p:w/d@", "db", 5433, "analytics")
    assert pg.options == {"sslmode": "require"}


def test_uri_with_wrong_scheme_names_the_variable():
    """A non-postgresql URI is rejected naming ANALYTICS_URI."""
    with pytest.raises(ConfigurationError) as e:
        config.postgres_from_uri("mysql://u@h/d")
    assert "ANALYTICS_URI" in str(e.value)


def test_settings_repr_hides_password_and_api_key():
    """Neither the database password nor the API key appears in repr()."""
    s = config.resolve(env={"ANALYTICS_URI": "postgresql://u:topsecretpw@h:1/d", "PROCESSING_HTTP": "http://p:1", "DATASTACK_API_KEY": "topsecretkey"})
    assert "topsecretpw" not in repr(s)
    assert "topsecretkey" not in repr(s)
    assert "topsecretpw" not in s.postgres.display()


def test_uri_wins_over_connection_string():
    """ANALYTICS_URI is preferred when both database variables are set."""
    env = {"ANALYTICS_URI": "postgresql://u:p@from-uri:1/d", "ConnectionStrings__analytics": "Host=from-cs;Database=d"}
    assert config.resolve(env=env, processing=False).postgres.host == "from-uri"


def test_connection_string_used_without_uri():
    """ConnectionStrings__analytics is used when ANALYTICS_URI is absent."""
    env = {"ConnectionStrings__analytics": "Host=from-cs;Port=7;Database=d"}
    assert config.resolve(env=env, processing=False).postgres.host == "from-cs"


def test_processing_http_wins_over_service_discovery_variable():
    """PROCESSING_HTTP is preferred over services__processing__http__0; trailing '/' is dropped."""
    env = {"PROCESSING_HTTP": "http://a:1/", "services__processing__http__0": "http://b:2"}
    assert config.resolve(env=env, api_key="k", database=False).processing_url == "http://a:1"
    assert config.resolve(env={"services__processing__http__0": "http://b:2"}, api_key="k", database=False).processing_url == "http://b:2"


def test_explicit_arguments_override_environment():
    """Arguments to resolve()/connect() beat every variable."""
    env = {"ANALYTICS_URI": "postgresql://u:p@env:1/d", "PROCESSING_HTTP": "http://env:1", "DATASTACK_API_KEY": "env"}
    s = config.resolve("Host=arg;Database=d", "http://arg:2", "argkey", env=env)
    assert (s.postgres.host, s.processing_url, s.api_key) == ("arg", "http://arg:2", "argkey")


def test_nothing_configured_names_every_variable():
    """With an empty environment the error lists the variables to set."""
    with pytest.raises(ConfigurationError) as e:
        config.resolve(env={})
    message = str(e.value)
    for name in ("ANALYTICS_URI", "ConnectionStrings__analytics", "PROCESSING_HTTP", "services__processing__http__0", "DATASTACK_API_KEY"):
        assert name in message


def test_processing_url_must_be_http():
    """A Processing URL without http(s):// is rejected naming the variable."""
    with pytest.raises(ConfigurationError) as e:
        config.resolve(env={"services__processing__http__0": "processing:8080"})
    assert "services__processing__http__0" in str(e.value)
