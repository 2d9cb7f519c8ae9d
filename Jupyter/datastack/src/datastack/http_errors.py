"""What a failed call to Processing means: the error for an HTTP error answer, the reason a call got none."""

from __future__ import annotations

from typing import Any

import requests

from . import config
from .errors import AuthenticationError, ConflictError, NotFoundError, ProcessingError


def unreachable_reason(e: requests.exceptions.RequestException, timeout: tuple[float, float]) -> str:
    text = str(e)
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(e, requests.exceptions.ReadTimeout):
        return f"no answer within {timeout[1]:g} s"
    if "Connection refused" in text or "ECONNREFUSED" in text:
        return "connection refused (is the processing service running?)"
    if "Name or service not known" in text or "nodename nor servname" in text or "NameResolution" in text or "getaddrinfo" in text:
        return "host name not found"
    if "Connection aborted" in text or "Broken pipe" in text or "reset by peer" in text:
        return "the connection was closed while talking to the server"
    if isinstance(e, requests.exceptions.SSLError):
        return "TLS error: " + text[:200]
    return f"{type(e).__name__}: {text[:200]}"


def error_from_response(method: str, path: str, response: requests.Response, *, api_key_set: bool) -> ProcessingError:
    """The ProcessingError subclass for an HTTP error answer, with the problem details it carries."""
    title = detail = None
    errors: dict[str, Any] | None = None
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            title = body.get("title")
            detail = body.get("detail")
            errors = body.get("errors") if isinstance(body.get("errors"), dict) else None
    if title is None:
        title = response.reason or None
    if detail is None and "json" not in content_type:
        text = response.text.strip()
        detail = text[:300] if text else None
    status = response.status_code
    if status in (401, 403):
        hint = (
            f"{config.API_KEY} is not set; Processing requires it"
            if not api_key_set
            else f"the key from {config.API_KEY} (or api_key=...) was refused"
        )
        return AuthenticationError(method, path, status, title, detail, errors, hint)
    if status == 404:
        return NotFoundError(method, path, status, title, detail, errors)
    if status == 409:
        return ConflictError(method, path, status, title, detail, errors)
    return ProcessingError(method, path, status, title, detail, errors)
