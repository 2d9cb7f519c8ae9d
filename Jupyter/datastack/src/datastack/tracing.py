"""OpenTelemetry, when it is installed; a no-op when it is not.

- ``inject(headers)`` adds W3C ``traceparent`` (and ``tracestate``) for the current span. It needs only
  the OpenTelemetry *API*; without it, or without a current span, it does nothing.
- ``setup()`` configures the SDK once per process from the standard ``OTEL_*`` variables (OTLP over
  ``http/protobuf`` or ``grpc``, service name from ``OTEL_SERVICE_NAME``, default ``jupyter``) and instruments
  ``requests`` and ``psycopg`` when those instrumentations are installed. It never raises: a missing
  package or a setting the SDK rejects leaves tracing off, with the reason in ``TracingState.reason``.
- ``flush()`` exports the finished spans now; ``shutdown()`` flushes and stops: later cells are not traced.
  Neither is needed at the end: the SDK flushes when the kernel exits.
- ``status()`` says whether the exports themselves succeed, not only what is configured: the SDK exports in
  the background and reports a failure only to the kernel's log, so datastack's exporter is wrapped to keep
  the outcome of every batch and, when it failed, why (``certificate verify failed``, ``connection refused``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, MutableMapping

from .export_health import ExportHealth, _HealthReportingExporter, _RpcErrorRecorder
from .redaction import scrub

DEFAULT_SERVICE_NAME = "jupyter"
TRACER_NAME = "datastack"
# Context key set while the client looks up something that may well be absent (a dataset before its first
# upload): the requests span of that lookup's 404 is marked as expected instead of an error.
_NOT_FOUND_EXPECTED = "datastack.not_found_expected"

_log = logging.getLogger(__name__)
_state: "TracingState | None" = None


@dataclass
class TracingState:
    """What ``setup()`` managed to do; ``enabled`` is False with a human ``reason`` otherwise.

    ``owns_provider`` is False when another tracer provider was already set (``opentelemetry-instrument``):
    the cell spans then go to that provider, and ``shutdown()`` leaves it running.
    """

    enabled: bool
    reason: str
    tracer: Any = None
    provider: Any = None
    instrumented: list[str] = field(default_factory=list)
    owns_provider: bool = False
    health: ExportHealth | None = None


def inject(headers: MutableMapping[str, str]) -> None:
    """Add trace-context headers for the current span, if the OpenTelemetry API is importable."""
    try:
        from opentelemetry import propagate
    except ImportError:
        return
    try:
        propagate.inject(headers)
    except Exception:  # a broken propagator must never break a request
        _log.debug("trace context injection failed", exc_info=True)


def context_from(traceparent: str | None, tracestate: str | None = None) -> Any:
    """The context a W3C ``traceparent`` (and ``tracestate``) carries, to parent spans on; None without one."""
    if not traceparent:
        return None
    from opentelemetry import propagate

    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return propagate.extract(carrier)


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextlib.contextmanager
def not_found_expected() -> Iterator[None]:
    """While active, a ``404`` answer is the expected "absent", not an error, on the ``requests`` span."""
    try:
        from opentelemetry import context
    except ImportError:
        yield
        return
    token = context.attach(context.set_value(_NOT_FOUND_EXPECTED, True))
    try:
        yield
    finally:
        context.detach(token)


def _requests_response_hook(span: Any, request: Any, response: Any) -> None:
    """``RequestsInstrumentor`` response hook: an expected 404 leaves the span as a success."""
    if getattr(response, "status_code", None) != 404:
        return
    try:
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        if context.get_value(_NOT_FOUND_EXPECTED) and span.is_recording():
            span.set_attribute(_NOT_FOUND_EXPECTED, True)
            # The instrumentation set ERROR for the 4xx; the SDK ignores UNSET once set, so OK is the way back.
            span.set_status(Status(StatusCode.OK))
    except Exception:  # it runs inside the user's request: never break it
        _log.debug("requests response hook failed", exc_info=True)


def state() -> TracingState | None:
    """The state of the last ``setup()``, or None before it."""
    return _state


def status() -> str:
    """One line: are cells traced, where to, do the exports arrive, and if not why. ``%load_ext datastack``
    prints it; in the image the startup file loaded the extension, so a notebook asks here
    (``print(tracing.status())``)."""
    if _state is None:
        return "tracing not set up (%load_ext datastack sets it up)"
    if not _state.enabled:
        return f"tracing off ({_state.reason})"
    extra = f"; instrumented: {', '.join(_state.instrumented)}" if _state.instrumented else ""
    health = f"; {_state.health.describe()}" if _state.health is not None else ""
    return f"tracing on, every cell is a span, {_state.reason}{extra}{health}"


def unreported_export_failure() -> str | None:
    """Why exports started failing, once per failing streak; None while they succeed (or were reported)."""
    health = _state.health if _state is not None else None
    return health.take_unreported_failure() if health is not None else None


def setup(env: MutableMapping[str, str] | None = None) -> TracingState:
    """Configure tracing once; later calls return the same state. Never raises."""
    global _state
    if _state is not None:
        return _state
    env = os.environ if env is None else env
    try:
        _state = _configure(env)
    except Exception as e:  # a bad OTEL_* setting turns tracing off; it must never break the notebook
        _log.debug("tracing setup failed", exc_info=True)
        _state = TracingState(False, f"the OpenTelemetry setup failed: {_describe(e, env)}")
    return _state


def _describe(error: BaseException, env: MutableMapping[str, str]) -> str:
    return scrub(f"{type(error).__name__}: {error}", env)


def _import_failure(error: ImportError, modules: tuple[str, ...], env: MutableMapping[str, str]) -> str:
    """'not installed' only when the missing module is the package itself; otherwise what really failed."""
    missing = getattr(error, "name", None) or ""
    if isinstance(error, ModuleNotFoundError) and missing and any(m == missing or m.startswith(missing + ".") for m in modules):
        return "not installed"
    return f"installed but cannot be imported ({_describe(error, env)})"


def _configure(env: MutableMapping[str, str]) -> TracingState:
    sdk_modules = ("opentelemetry.trace", "opentelemetry.sdk.resources", "opentelemetry.sdk.trace", "opentelemetry.sdk.trace.export")
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as e:
        failure = _import_failure(e, sdk_modules, env)
        if failure == "not installed":
            failure += "; pip install 'datastack[tracing]'"
        return TracingState(False, f"the OpenTelemetry SDK is {failure}")

    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TracingState(False, "OTEL_SDK_DISABLED=true")
    if (env.get("OTEL_TRACES_EXPORTER") or "otlp").strip().lower() == "none":
        return TracingState(False, "OTEL_TRACES_EXPORTER=none")

    existing = trace.get_tracer_provider()
    if not isinstance(existing, trace.ProxyTracerProvider):
        return _use_existing(trace, existing, env)

    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return TracingState(False, "OTEL_EXPORTER_OTLP_ENDPOINT is not set")

    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip().lower()
    transport = "grpc" if protocol == "grpc" else "http"
    module = f"opentelemetry.exporter.otlp.proto.{transport}.trace_exporter"
    package = f"opentelemetry-exporter-otlp-proto-{transport}"
    try:
        if transport == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as e:
        return TracingState(False, f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} needs {package}, which is {_import_failure(e, (module,), env)}")
    try:
        # The exporter reads endpoint, headers, certificate, timeout and compression from OTEL_EXPORTER_OTLP_*
        # and raises on a value it cannot use (OTEL_EXPORTER_OTLP_TIMEOUT=10s, ..._COMPRESSION=zstd).
        exporter = OTLPSpanExporter()
    except Exception as e:
        return TracingState(False, f"the {package} exporter rejected the OTEL_EXPORTER_OTLP_* settings: {_describe(e, env)}")
    health = ExportHealth(env)
    if transport == "grpc" and callable(getattr(getattr(exporter, "_client", None), "Export", None)):
        exporter._client = _RpcErrorRecorder(exporter._client, health)

    # Resource.create() already reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; only the
    # default changes (the SDK's own default is 'unknown_service').
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: DEFAULT_SERVICE_NAME}
    try:
        resource = Resource.create(attributes)
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(_HealthReportingExporter(exporter, health)))
    except Exception:
        exporter.shutdown()
        raise
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        # Set by someone else between the check above and now: the SDK keeps the first one.
        provider.shutdown()
        return _use_existing(trace, trace.get_tracer_provider(), env)

    service = provider.resource.attributes.get(SERVICE_NAME)
    return TracingState(
        True,
        scrub(f"exporting to {endpoint} ({protocol}) as service '{service}'", env),
        tracer=trace.get_tracer(TRACER_NAME),
        provider=provider,
        instrumented=_instrument(env),
        owns_provider=True,
        health=health,
    )


def _use_existing(trace: Any, provider: Any, env: MutableMapping[str, str]) -> TracingState:
    """Another tracer provider is set (``opentelemetry-instrument``, ``OTEL_PYTHON_TRACER_PROVIDER``):
    the SDK refuses a second one, so the cell spans go to it and datastack's own exporter is not built."""
    kind = f"{type(provider).__module__}.{type(provider).__qualname__}"
    if isinstance(provider, trace.NoOpTracerProvider):
        return TracingState(False, f"a no-op tracer provider ({kind}) is already set, so nothing would be exported")
    return TracingState(
        True,
        f"a tracer provider ({kind}) was already set, e.g. by opentelemetry-instrument: cell spans go to it and "
        "its exporters, not to an exporter of datastack's own",
        tracer=trace.get_tracer(TRACER_NAME),
        provider=provider,
        instrumented=_instrument(env),
        owns_provider=False,
    )


def _instrument(env: MutableMapping[str, str]) -> list[str]:
    """Instrument requests and psycopg; a failing instrumentation is reported, never raised."""
    done = []
    for name in ("requests", "psycopg"):
        try:
            if name == "requests":
                from opentelemetry.instrumentation.requests import RequestsInstrumentor as Instrumentor

                options: dict[str, Any] = {"response_hook": _requests_response_hook}
            else:
                from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor as Instrumentor

                options = {"enable_commenter": False}
        except ImportError:
            continue
        try:
            instrumentor = Instrumentor()
            if instrumentor.is_instrumented_by_opentelemetry:
                done.append(f"{name} (instrumented before datastack, without its hooks)")
                continue
            instrumentor.instrument(**options)
            # instrument() returns without instrumenting on a version conflict (and logs it).
            done.append(name if instrumentor.is_instrumented_by_opentelemetry else f"{name} not instrumented (version conflict)")
        except Exception as e:
            done.append(f"{name} not instrumented ({_describe(e, env)})")
    return done


def flush(timeout_millis: int = 30000) -> bool:
    """Export the spans finished so far now; True when they were (False if tracing is off or it timed out)."""
    provider = _state.provider if _state is not None else None
    force_flush = getattr(provider, "force_flush", None)
    return bool(force_flush(timeout_millis)) if callable(force_flush) else False


def shutdown() -> None:
    """Flush and stop: no cell after this one is traced (restart the kernel to trace again).

    Not needed before closing a notebook: the SDK flushes when the kernel exits. A provider datastack
    did not create (``opentelemetry-instrument``) is flushed but left running for its owner.
    """
    global _state
    if _state is None or not _state.enabled:
        return
    provider, owned = _state.provider, _state.owns_provider
    _state = TracingState(False, "stopped by datastack.tracing.shutdown(); restart the kernel to trace again")
    if owned:
        provider.shutdown()
    elif callable(getattr(provider, "force_flush", None)):
        provider.force_flush()
