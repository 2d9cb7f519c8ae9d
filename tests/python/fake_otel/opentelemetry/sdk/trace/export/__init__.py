"""Test stand-in for opentelemetry.sdk.trace.export (SDK 1.39.1): a batch processor that exports on flush,
drops spans after shutdown, and an in-memory exporter."""

import enum


class SpanExportResult(enum.Enum):
    SUCCESS = 0
    FAILURE = 1


class BatchSpanProcessor:
    def __init__(self, span_exporter, max_queue_size=None, schedule_delay_millis=None, max_export_batch_size=None, export_timeout_millis=None):
        self.span_exporter = span_exporter
        self._queue = []
        self._done = False

    def on_end(self, span):
        if not self._done:  # the SDK drops spans that end after shutdown
            self._queue.append(span)

    def force_flush(self, timeout_millis=30000):
        batch, self._queue = self._queue, []
        if batch:
            self.span_exporter.export(batch)
        return True

    def shutdown(self):
        if not self._done:
            self.force_flush()
            self._done = True
            self.span_exporter.shutdown()


class InMemorySpanExporter:
    """What opentelemetry-sdk ships as ...export.in_memory_span_exporter.InMemorySpanExporter, minimally."""

    def __init__(self):
        self.spans = []

    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass
