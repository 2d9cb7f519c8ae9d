"""Keeps secrets out of what leaves the kernel in spans (cell excerpts, error messages).

Two layers:

- the secrets the package knows are replaced wherever they appear: ``DATASTACK_API_KEY``, the database
  password (``ANALYTICS_PASSWORD``, ``ANALYTICS_URI``, ``ConnectionStrings__analytics``), ``JUPYTER_TOKEN``,
  the values of ``OTEL_EXPORTER_OTLP_HEADERS``, and every key or password given to ``connect()`` (each of
  4 characters or more);
- values that look like credentials are replaced too: a quoted string assigned to a name containing
  ``password``, ``secret``, ``token`` or ``api_key`` (``api_key="..."``, ``TOKEN: '...'``), a
  ``Password=...`` in a connection string, and the password of a ``scheme://user:password@host`` URL.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Mapping
from urllib.parse import quote, quote_plus, unquote

from . import config
from .errors import ConfigurationError

MASK = "***"
# Shorter "secrets" (a 1-character test key) would mask every occurrence of common letters and protect nothing.
MIN_SECRET_CHARS = 4

_registered: set[str] = set()
_lock = threading.Lock()

# Each pattern starts at a word boundary or a literal and stops at a delimiter, so a scan is linear in the
# text's length (a cell can be large; nothing here may backtrack quadratically).
_ASSIGNED = re.compile(r"""\b(\w+)(['"\]]*[ \t]*[:=][ \t]*)(['"])([^\r\n]+?)\3""")
_CREDENTIAL_NAME = re.compile(r"(?i)password|passwd|secret|token|api_?key")
_KEYWORD = re.compile(r"(?i)\b(password|pwd)([ \t]*=[ \t]*)([^;'\"\s]+)")
_URL_PASSWORD = re.compile(r"""(://[^:/@\s'"]+:)([^/@\s'"]+)(@)""")


def register(secret: str | None) -> None:
    """Add a secret to scrub from now on (``connect()`` registers the key and password it was given)."""
    if secret:
        with _lock:
            _registered.add(secret)


def known_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """The secrets from the environment and from ``register()``, each with its URL-encoded forms."""
    env = os.environ if env is None else env
    found = {env.get(config.API_KEY), env.get("ANALYTICS_PASSWORD"), env.get("JUPYTER_TOKEN")}
    for variable, parse in ((config.ANALYTICS_URI, config.postgres_from_uri), (config.ANALYTICS_CONNECTION_STRING, config.postgres_from_text)):
        text = env.get(variable, "").strip()
        if text:
            try:
                found.add(parse(text, variable).password)
            except ConfigurationError:
                pass
    for variable in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        for pair in env.get(variable, "").split(","):
            _, sep, value = pair.partition("=")
            if sep and value.strip():
                found.add(unquote(value.strip()))
    with _lock:
        found |= _registered
    secrets = set()
    for secret in found:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            secrets.update((secret, quote(secret, safe=""), quote_plus(secret)))
    # Longest first, so a secret that contains another is masked whole.
    return sorted(secrets, key=len, reverse=True)


def scrub(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every known secret and every credential-looking value replaced by ``***``."""
    if not text:
        return text
    for secret in known_secrets(env):
        text = text.replace(secret, MASK)
    text = _ASSIGNED.sub(_mask_assigned, text)
    text = _KEYWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)


def _mask_assigned(match: re.Match[str]) -> str:
    name, separator, quote, _ = match.groups()
    if not _CREDENTIAL_NAME.search(name):
        return match.group(0)
    return f"{name}{separator}{quote}{MASK}{quote}"
