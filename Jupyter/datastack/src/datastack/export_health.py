"""Whether notebook spans actually leave: the outcome of every export batch, and why the latest one failed.

The OpenTelemetry SDK exports in the background and reports a failure only to the log; ``tracing`` wraps its
exporter with :class:`_HealthReportingExporter` (and the gRPC stub with :class:`_RpcErrorRecorder`) so that
``tracing.status()`` can say ``exports failing ...: certificate verify failed`` in the notebook itself.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .redaction import scrub

# Where the README explains the developer certificate an OTLP endpoint over https needs.
CERTIFICATE_HELP = "see README, 'The developer certificate'"
# A failure's detail is cut to this many characters in status() (a gRPC error can run to a kilobyte).
DETAIL_CHARS = 300


class ExportHealth:
    """The outcome of the span exports so far: counts, and the reason of the latest failure.

    Written from the SDK's export thread, read from the notebook's; every access holds the lock.
    """

    def __init__(self, env: MutableMapping[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self.succeeded = 0
        self.failed = 0
        self.reason = ""
        self.since: float | None = None  # when the current failing streak began; None while exports succeed
        self._unreported = False
        self._detail = ""

    @property
    def failing(self) -> bool:
        return self.since is not None

    def record_detail(self, detail: str) -> None:
        """What the transport said about a failed attempt (a gRPC status and its details)."""
        with self._lock:
            self._detail = detail

    def record(self, ok: bool, error: BaseException | None = None) -> None:
        with self._lock:
            if ok:
                self.succeeded += 1
                self.since = None
                self._detail = ""
                return
            self.failed += 1
            if error is not None:
                detail = f"{type(error).__name__}: {error}"
            else:
                detail = self._detail or "the exporter reported a failure (the kernel's log has the SDK's message)"
            self._detail = ""
            self.reason = explain_export_failure(scrub(detail, self._env))
            if not self.failing:
                self.since = time.time()
                self._unreported = True

    def take_unreported_failure(self) -> str | None:
        """The failure reason once per failing streak (for the notebook to show), else None."""
        with self._lock:
            if not self._unreported:
                return None
            self._unreported = False
            return self.reason

    def describe(self) -> str:
        with self._lock:
            if self.failing:
                since = time.strftime("%H:%M:%S", time.localtime(self.since))
                return f"exports failing since {since} ({self.failed} failed, {self.succeeded} succeeded): {self.reason}"
            if self.succeeded:
                failed = f", {self.failed} failed before" if self.failed else ""
                return f"exports succeeding ({self.succeeded} batches{failed})"
            return "no export yet (the first leaves within seconds of a cell, or on tracing.flush())"


def explain_export_failure(detail: str) -> str:
    """The failure as a person can act on it: the cause first, then the transport's own words (shortened)."""
    lowered = detail.lower()
    short = detail if len(detail) <= DETAIL_CHARS else detail[: DETAIL_CHARS - 1] + "…"
    if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
        cause = f"certificate verify failed: the OTLP endpoint's certificate is not trusted — {CERTIFICATE_HELP}"
    elif "connection refused" in lowered or "connect failed" in lowered:
        cause = "connection refused: nothing listens at OTEL_EXPORTER_OTLP_ENDPOINT (is the AppHost running?)"
    elif "deadline exceeded" in lowered or "timed out" in lowered or "timeout" in lowered:
        cause = "timed out: the OTLP endpoint did not answer within OTEL_EXPORTER_OTLP_TIMEOUT"
    else:
        return short
    return f"{cause} ({short})"


class _HealthReportingExporter:
    """A ``SpanExporter`` that hands every batch to the real OTLP exporter and records how it went.

    The SDK's ``BatchSpanProcessor`` calls ``export()`` on its own thread; an exporter that fails returns
    ``FAILURE`` (gRPC, HTTP status) or raises (``requests``' SSL and connection errors), and the SDK only logs it.
    """

    def __init__(self, exporter: Any, health: ExportHealth) -> None:
        self._exporter = exporter
        self._health = health

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            result = self._exporter.export(spans)
        except Exception as e:
            self._health.record(False, e)
            raise  # the SDK logs it, as it would without this wrapper
        self._health.record(result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


class _RpcErrorRecorder:
    """Stands between the gRPC OTLP exporter and its service stub to keep the status details of a failed call.

    The exporter retries and then logs only the status code (``UNAVAILABLE``); the reason (``Ssl handshake failed
    ... CERTIFICATE_VERIFY_FAILED``) is in the ``RpcError``, which never leaves it. ``_client`` is the exporter's
    stub in opentelemetry-exporter-otlp-proto-grpc 1.39 (the version the image pins); where a version has no such
    attribute, nothing is wrapped and a failure says the kernel's log has the SDK's message.
    """

    def __init__(self, stub: Any, health: ExportHealth) -> None:
        self._stub = stub
        self._health = health

    def Export(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (the stub's method name)
        try:
            return self._stub.Export(*args, **kwargs)
        except Exception as e:
            code, details = getattr(e, "code", None), getattr(e, "details", None)
            if callable(code) and callable(details):
                self._health.record_detail(f"{getattr(code(), 'name', code())}: {details()}")
            else:
                self._health.record_detail(f"{type(e).__name__}: {e}")
            raise
