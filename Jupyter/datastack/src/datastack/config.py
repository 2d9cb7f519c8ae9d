"""The wiring contract: what Aspire injects into the jupyter container, parsed into settings.

Only the variables of the wiring contract (docs/apphost.md, "What each part receives"; README.md, "The package on
your laptop") are read; explicit arguments to connect() win.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import ConfigurationError

ANALYTICS_URI = "ANALYTICS_URI"
ANALYTICS_CONNECTION_STRING = "ConnectionStrings__analytics"
PROCESSING_HTTP = "PROCESSING_HTTP"
PROCESSING_SERVICE = "services__processing__http__0"
API_KEY = "DATASTACK_API_KEY"

# Npgsql keywords and their synonyms (compared case-insensitively, spaces ignored), mapped to the
# libpq / psycopg parameter names. Keywords we do not know are kept as-is and ignored by connect().
_NPGSQL_KEYS = {
    "host": "host",
    "server": "host",
    "port": "port",
    "database": "dbname",
    "db": "dbname",
    "username": "user",
    "user": "user",
    "userid": "user",
    "uid": "user",
    "password": "password",
    "pwd": "password",
    "psw": "password",
    "sslmode": "sslmode",
    "timeout": "connect_timeout",
    "applicationname": "application_name",
}

# Npgsql's SSL Mode values -> libpq's.
_SSL_MODES = {
    "disable": "disable",
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verifyca": "verify-ca",
    "verify-ca": "verify-ca",
    "verifyfull": "verify-full",
    "verify-full": "verify-full",
}


def parse_connection_string(text: str) -> dict[str, str]:
    """Split an ADO.NET/Npgsql connection string into raw ``{keyword: value}`` pairs.

    Follows DbConnectionStringBuilder's rules: pairs are separated by ``;``; keywords are trimmed
    and case-insensitive (returned lower-cased), ``==`` in a keyword is a literal ``=``; a value may
    be quoted with ``'`` or ``"`` (then it may hold ``;`` and ``=``, and a doubled quote is a
    literal quote); unquoted values are trimmed; empty pairs are skipped; the last duplicate wins.
    """
    result: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        # Skip separators and whitespace between pairs.
        while i < n and (text[i] == ";" or text[i].isspace()):
            i += 1
        if i >= n:
            break
        # Keyword: up to a single '=' ('==' is an escaped '=').
        key_chars: list[str] = []
        while True:
            if i >= n:
                raise ConfigurationError(f"connection string: keyword {''.join(key_chars).strip()!r} has no value (expected 'key=value')")
            c = text[i]
            if c == "=":
                if i + 1 < n and text[i + 1] == "=":
                    key_chars.append("=")
                    i += 2
                    continue
                i += 1
                break
            if c == ";":
                raise ConfigurationError(f"connection string: keyword {''.join(key_chars).strip()!r} has no value (expected 'key=value')")
            key_chars.append(c)
            i += 1
        key = "".join(key_chars).strip().lower()
        if not key:
            raise ConfigurationError("connection string: empty keyword before '='")
        # Value.
        while i < n and text[i].isspace() and text[i] != ";":
            i += 1
        if i < n and text[i] in "'\"":
            quote_char = text[i]
            i += 1
            value_chars: list[str] = []
            while True:
                if i >= n:
                    raise ConfigurationError(f"connection string: unterminated {quote_char} quote in the value of {key!r}")
                c = text[i]
                if c == quote_char:
                    if i + 1 < n and text[i + 1] == quote_char:
                        value_chars.append(c)
                        i += 2
                        continue
                    i += 1
                    break
                value_chars.append(c)
                i += 1
            value = "".join(value_chars)
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] != ";":
                raise ConfigurationError(f"connection string: unexpected text after the quoted value of {key!r}")
        else:
            start = i
            while i < n and text[i] != ";":
                i += 1
            value = text[start:i].strip()
        result[key] = value
    return result


@dataclass(frozen=True)
class PostgresSettings:
    """Where the analytics database is; ``repr`` never shows the password."""

    host: str
    port: int
    dbname: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    options: Mapping[str, str] = field(default_factory=dict)
    source: str = "arguments"

    def connect_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``psycopg.connect`` (no conninfo string: nothing to escape)."""
        kwargs: dict[str, object] = {"host": self.host, "port": self.port, "dbname": self.dbname}
        if self.user is not None:
            kwargs["user"] = self.user
        if self.password is not None:
            kwargs["password"] = self.password
        kwargs.update(self.options)
        return kwargs

    def display(self) -> str:
        """``postgresql://user@host:port/db`` without the password, for messages."""
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{user}{host}:{self.port}/{self.dbname}"


def postgres_from_npgsql(text: str, source: str = ANALYTICS_CONNECTION_STRING) -> PostgresSettings:
    """Parse an Npgsql connection string (``Host=..;Port=..;Username=..;Password=..;Database=..``)."""
    raw = parse_connection_string(text)
    values: dict[str, str] = {}
    for key, value in raw.items():
        canonical = _NPGSQL_KEYS.get(key.replace(" ", ""))
        if canonical is not None:
            values[canonical] = value
    host = values.pop("host", "")
    if not host:
        raise ConfigurationError(f"{source} has no Host (or Server) keyword")
    port_text = values.pop("port", "")
    # Npgsql also accepts 'Host=name:port' for a single host.
    if not port_text and host.count(":") == 1 and "," not in host:
        host, port_text = host.split(":")
    port = _parse_port(port_text or "5432", source)
    dbname = values.pop("dbname", "")
    user = values.pop("user", None)
    password = values.pop("password", None)
    if not dbname:
        # Npgsql defaults the database to the user name; libpq does the same.
        dbname = user or "postgres"
    options: dict[str, str] = {}
    if "sslmode" in values:
        mode = values["sslmode"].strip().lower()
        if mode not in _SSL_MODES:
            raise ConfigurationError(f"{source}: unknown SSL Mode {values['sslmode']!r}")
        options["sslmode"] = _SSL_MODES[mode]
    if "connect_timeout" in values:
        options["connect_timeout"] = values["connect_timeout"]
    if "application_name" in values:
        options["application_name"] = values["application_name"]
    return PostgresSettings(host, port, dbname, user, password, options, source)


def postgres_from_uri(uri: str, source: str = ANALYTICS_URI) -> PostgresSettings:
    """Parse ``postgresql://user:password@host:port/db?sslmode=..`` (percent-decoded)."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(f"{source} must start with postgresql:// (got scheme {parts.scheme!r})")
    try:
        port = parts.port or 5432
    except ValueError:
        raise ConfigurationError(f"{source} has an invalid port") from None
    host = unquote(parts.hostname or "")
    if not host:
        raise ConfigurationError(f"{source} has no host")
    dbname = unquote(parts.path.lstrip("/"))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    options = {k: v for k, v in parse_qsl(parts.query) if k in ("sslmode", "connect_timeout", "application_name")}
    return PostgresSettings(host, port, dbname or user or "postgres", user, password, options, source)


def postgres_from_text(text: str, source: str = "analytics") -> PostgresSettings:
    """Accept either form: a ``postgresql://`` URI or an Npgsql ``key=value;`` string."""
    stripped = text.strip()
    if "://" in stripped.split(";", 1)[0]:
        return postgres_from_uri(stripped, source)
    return postgres_from_npgsql(stripped, source)


def _parse_port(text: str, source: str) -> int:
    try:
        port = int(text.strip())
    except ValueError:
        raise ConfigurationError(f"{source}: port {text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ConfigurationError(f"{source}: port {port} is out of range")
    return port


@dataclass(frozen=True)
class Settings:
    """Everything connect() needs; ``repr`` never shows the API key or the database password."""

    processing_url: str | None
    postgres: PostgresSettings | None
    api_key: str | None = field(default=None, repr=False)
    processing_source: str | None = None


def resolve_postgres(analytics: str | None, env: Mapping[str, str]) -> PostgresSettings | None:
    """Explicit argument, else ANALYTICS_URI, else ConnectionStrings__analytics, else None."""
    if analytics:
        return postgres_from_text(analytics, "analytics argument")
    uri = env.get(ANALYTICS_URI, "").strip()
    if uri:
        return postgres_from_uri(uri, ANALYTICS_URI)
    cs = env.get(ANALYTICS_CONNECTION_STRING, "").strip()
    if cs:
        return postgres_from_text(cs, ANALYTICS_CONNECTION_STRING)
    return None


def resolve_processing(url: str | None, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Explicit argument, else PROCESSING_HTTP, else services__processing__http__0; returns (url, source)."""
    for value, source in ((url, "processing_url argument"), (env.get(PROCESSING_HTTP), PROCESSING_HTTP), (env.get(PROCESSING_SERVICE), PROCESSING_SERVICE)):
        if value and value.strip():
            value = value.strip().rstrip("/")
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigurationError(f"{source} must be an http(s) URL like http://processing:8080 (got {value!r})")
            return value, source
    return None, None


def resolve(
    analytics: str | None = None,
    processing_url: str | None = None,
    api_key: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    processing: bool = True,
    database: bool = True,
) -> Settings:
    """Build Settings from explicit arguments and the environment (``os.environ`` by default).

    Everything needed is checked at once: one ConfigurationError lists every missing setting. ``processing=False``
    (SQL only) needs no Processing URL or key; ``database=False`` (Processing only) needs no database;
    ``api_key=""`` says on purpose that Processing runs without a key (``Processing__AllowAnonymous``).
    """
    env = os.environ if env is None else env
    postgres = resolve_postgres(analytics, env) if database else None
    url, source = resolve_processing(processing_url, env) if processing else (None, None)
    key = (api_key if api_key is not None else (env.get(API_KEY) or None)) if processing else None
    missing: list[str] = []
    if database and postgres is None:
        missing.append(
            f"the database: set {ANALYTICS_URI} (postgresql://user:password@host:port/analytics) or "
            f"{ANALYTICS_CONNECTION_STRING} (Host=..;Port=..;Username=..;Password=..;Database=analytics), or pass analytics=..."
        )
    if processing and url is None:
        missing.append(f"Processing: set {PROCESSING_HTTP} or {PROCESSING_SERVICE} (http://host:port), or pass processing_url=...")
    if processing and api_key is None and key is None:
        missing.append(
            f"the API key: set {API_KEY} to the key Processing was given as Processing__ApiKey, or pass api_key=... "
            '(api_key="" for a Processing started with Processing__AllowAnonymous=true)'
        )
    if missing:
        raise ConfigurationError(
            "datastack is not configured; missing:\n"
            + "".join(f"  - {line}\n" for line in missing)
            + "Under Aspire these are injected into the jupyter container. "
            "For SQL only, connect(processing=False); for Processing only, connect(database=False)."
        )
    return Settings(url, postgres, key or None, source)


def missing_postgres_message() -> str:
    return (
        f"no database configured: set {ANALYTICS_URI} (postgresql://user:password@host:port/analytics) "
        f"or {ANALYTICS_CONNECTION_STRING} (Host=..;Port=..;Username=..;Password=..;Database=analytics), "
        "or pass analytics=... to connect() (this client was made with database=False)"
    )


def missing_processing_message() -> str:
    return (
        f"no Processing URL configured: set {PROCESSING_HTTP} or {PROCESSING_SERVICE} (http://host:port), "
        "or pass processing_url=... to connect() (this client was made with processing=False)"
    )
