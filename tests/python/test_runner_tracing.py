"""The runner's traces, received by a real OTLP receiver: the job span under the request that queued the job, the
pipeline's HTTP and SQL spans under the job, a notebook's cell spans too, a failure recorded with secrets masked."""

import pytest

from prereq import need, need_opentelemetry

need("pandas", "psycopg", "requests", "nbclient", "nbformat", "ipykernel")

import psycopg  # noqa: E402

import datastack as ds  # noqa: E402
from runners import REPO, RunnerProcess, job_span, make_pipelines, submit  # noqa: E402
from stack import eventually  # noqa: E402


@pytest.fixture(scope="module")
def receiver():
    need_opentelemetry()
    from otlp import OtlpHttpReceiver

    receiving = OtlpHttpReceiver()
    yield receiving
    receiving.close()


@pytest.fixture(scope="module")
def traced_runner(stack, receiver, tmp_path_factory):
    pipelines = make_pipelines(tmp_path_factory.mktemp("traced"))
    process = RunnerProcess(
        stack,
        pipelines,
        pipelines.parent / "runner.log",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_BSP_SCHEDULE_DELAY="200",
    ).start()
    yield process
    process.stop()


def request_span_of(stack, job_id):
    """The span id of Processing's request span that queued the job (the job's stored traceParent)."""
    with psycopg.connect(stack.postgres.uri) as conn:
        (trace_parent,) = conn.execute("select trace_parent from datastack.jobs where id = %s", (job_id,)).fetchone()
    return trace_parent.split("-")[2]


def test_a_job_span_is_a_child_of_the_request_and_holds_the_pipelines_http_and_sql_spans(stack, client, traced_runner, receiver, name):
    """'job python' (service runner) is a child of the request that queued it and links to it; the requests and
    psycopg spans of the pipeline's ds.connect() calls are its children, in the same trace."""
    client.upload(str(REPO / "data" / "samples" / "trips.csv"), name)
    job_id, trace_id = submit(stack, {"entrypoint": "pipelines.daily:summary", "parameters": {"day": "2024-01-05", "source": name, "target": name + "_z"}})
    client.wait(job_id)

    job = eventually(lambda: job_span(receiver, job_id), 15, "the job span to arrive")
    request = request_span_of(stack, job_id)
    assert (job.service, job.kind, job.trace_id, job.parent_span_id) == ("runner", "SPAN_KIND_CONSUMER", trace_id, request)
    assert job.links == [(trace_id, request)]
    assert job.attributes["datastack.job.status"] == "succeeded" and job.attributes["datastack.job.attempt"] == 1
    children = eventually(
        lambda: (c := [s for s in receiver.spans if s.parent_span_id == job.span_id]) and any(s.kind == "SPAN_KIND_CLIENT" and "http.request.method" in s.attributes or "http.method" in s.attributes for s in c) and any("db.system" in s.attributes or "db.system.name" in s.attributes for s in c) and c,
        15,
        "the pipeline's HTTP and SQL spans under the job span",
    )
    assert {s.trace_id for s in children} == {trace_id}
    assert {s.service for s in children} == {"runner"}


def test_a_failed_attempt_is_an_error_span_with_the_exception_masked(stack, client, traced_runner, receiver):
    """Each attempt of a failing job is a span in error with the exception's type and its message, secrets masked."""
    job_id, trace_id = submit(stack, {"entrypoint": "pipelines.testing:fail", "parameters": {"day": "2024-01-05"}})
    with pytest.raises(ds.JobFailed):
        client.wait(job_id)

    spans = eventually(
        lambda: len(s := [x for x in receiver.spans if x.name == "job python" and x.attributes.get("datastack.job.id") == job_id]) == 3 and s,
        15,
        "three attempt spans",
    )
    assert [s.attributes["datastack.job.attempt"] for s in sorted(spans, key=lambda s: s.attributes["datastack.job.attempt"])] == [1, 2, 3]
    assert sorted(s.attributes["datastack.job.status"] for s in spans) == ["failed", "retrying", "retrying"]
    for span in spans:
        assert span.status_code == "STATUS_CODE_ERROR" and span.trace_id == trace_id
        [(event, attributes)] = [e for e in span.events if e[0] == "exception"]
        assert attributes["exception.type"] == "KeyError" and "asked with key *** and password ***" in attributes["exception.message"]
        assert stack.processing.api_key not in str(span) and stack.postgres.password not in str(span)


def test_a_notebook_jobs_cells_are_spans_under_the_job(stack, client, traced_runner, receiver, name):
    """The kernel of a notebook job gets the job span as TRACEPARENT: its cell spans, and their SQL, are the job's."""
    client.upload(str(REPO / "data" / "samples" / "trips.csv"), name)
    job_id, trace_id = submit(stack, {"notebook": "pipelines/report.ipynb", "parameters": {"source": name}})
    client.wait(job_id)

    job = eventually(lambda: job_span(receiver, job_id), 15, "the job span to arrive")
    cells = eventually(
        lambda: len(c := [s for s in receiver.spans if s.parent_span_id == job.span_id and s.name.startswith("cell")]) >= 4 and c,
        20,
        "the notebook's cell spans under the job span",
    )
    assert {s.trace_id for s in cells} == {trace_id}
    cell_ids = {s.span_id for s in cells}
    assert any(s.parent_span_id in cell_ids and ("db.system" in s.attributes or "db.system.name" in s.attributes) for s in receiver.spans)


@pytest.mark.parametrize("mode, under_the_request", [("child", True), (None, True), ("newTrace", False)])
def test_the_job_span_follows_the_trace_mode_processing_sends_with_the_claim(mode, under_the_request):
    """Processing:JobTraceMode reaches the runner as the claimed job's traceMode: child of the request, or a new trace
    linked to it (as Processing's own job spans)."""
    need_opentelemetry()
    from opentelemetry.sdk.trace import TracerProvider

    from datastack.runner.telemetry import JobSpans

    request = TracerProvider().get_tracer("request").start_span("POST /jobs")
    context = request.get_span_context()
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-01"
    spans = JobSpans.__new__(JobSpans)  # the runner's span logic on a tracer of this test, no exporter set up
    spans._tracer = TracerProvider().get_tracer("runner")
    job = {"id": "7", "attempt": 1, "maxAttempts": 3, "traceParent": traceparent}
    if mode is not None:
        job["traceMode"] = mode

    span, _ = spans.start(job, "pipelines.examples:noop")

    assert (span.parent is not None and span.parent.span_id == context.span_id) is under_the_request
    assert (span.get_span_context().trace_id == context.trace_id) is under_the_request
    assert [link.context.span_id for link in span.links] == [context.span_id]
