"""Calls to Processing's HTTP API: one ``requests`` session, the key, trace context, and repeats where safe."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

import requests

from . import config, tracing
from .errors import ConfigurationError, DataStackError, ProcessingError, ProcessingUnreachable
from .http_errors import error_from_response, unreachable_reason

# (connect, read) seconds for ordinary calls; uploads and waits set their own read timeout.
REQUEST_TIMEOUT = (10.0, 60.0)
# A call answered 503 (the database restarting, out of connections) or cut off (a replica that died, a load balancer
# without a live one) is made again after these pauses, in seconds: reads (GET) always, an upload with the same
# Idempotency-Key (queued at most once). Other calls are not repeated.
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0)

_log = logging.getLogger("datastack.client")

T = TypeVar("T")


class ProcessingHttp:
    """The HTTP half of a client: every call to Processing goes through ``request`` or ``request_once``."""

    def __init__(self, settings: config.Settings) -> None:
        self._settings = settings
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "datastack-python/0.1"
        if settings.api_key:
            self._session.headers["Authorization"] = f"Bearer {settings.api_key}"

    def close(self) -> None:
        self._session.close()

    def request(self, method: str, path: str, **options: Any) -> requests.Response:
        """``request_once``, but a read (GET) is made again while the answer is 503 or the connection breaks."""
        pauses = RETRY_DELAYS if method == "GET" else ()
        return repeated(f"{method} {path}", lambda _: self.request_once(method, path, **options), pauses)

    def request_once(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> requests.Response:
        """One call to Processing, with the key and the trace context; an error answer raises its ProcessingError."""
        base = self._settings.processing_url
        if base is None:
            raise ConfigurationError(config.missing_processing_message())
        url = base + path
        all_headers = {"Accept": "application/json"}
        all_headers.update(headers or {})
        tracing.inject(all_headers)
        try:
            response = self._session.request(method, url, params=params, json=json, data=data, headers=all_headers, timeout=timeout)
        except requests.exceptions.RequestException as e:
            error = ProcessingUnreachable(base, unreachable_reason(e, timeout))
            error.original = e  # type: ignore[attr-defined]
            raise error from None
        if response.status_code >= 400:
            raise error_from_response(method, path, response, api_key_set=bool(self._settings.api_key))
        return response


def worth_repeating(error: DataStackError) -> bool:
    """A call that may succeed if made again: the server said so (503), or the connection broke before an answer."""
    if isinstance(error, ProcessingError):
        return error.status == 503
    if isinstance(error, ProcessingUnreachable):
        return error.reason.startswith("the connection was closed")
    return False


def repeated(what: str, call: Callable[[int], T], pauses: tuple[float, ...] = RETRY_DELAYS) -> T:
    """``call(attempt)`` (from 1), made again after each of ``pauses`` while it fails in a way worth repeating."""
    for attempt, pause in enumerate((*pauses, None), start=1):
        try:
            return call(attempt)
        except (ProcessingError, ProcessingUnreachable) as e:
            if pause is None or not worth_repeating(e):
                raise
            _log.warning("%s: %s; trying again in %g s (try %d of %d)", what, e, pause, attempt + 1, len(pauses) + 1)
            time.sleep(pause)
    raise AssertionError("unreachable")


def items(body: Any) -> list[dict[str, Any]]:
    """Accept a bare JSON array or an envelope with 'items'."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("items", "value", "datasets", "jobs"):
            if isinstance(body.get(key), list):
                return body[key]
    raise DataStackError(f"unexpected answer from Processing: {str(body)[:200]}")
