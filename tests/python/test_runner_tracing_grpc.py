"""The runner's spans over gRPC, what Aspire configures for containers. A module of its own: a runner started by another
module's fixture would claim the job (there is one python queue), and its spans would go elsewhere."""

from prereq import need, need_opentelemetry

need("pandas", "psycopg", "requests", "nbclient", "nbformat", "ipykernel")

from runners import REPO, RunnerProcess, job_span, make_pipelines, submit  # noqa: E402
from stack import eventually  # noqa: E402


def test_spans_leave_over_grpc_as_aspire_configures_containers(stack, client, name, tmp_path):
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc (what Aspire gives containers): the job span and the pipeline's spans arrive
    at a gRPC receiver, from the runner's main process and its worker alike."""
    need_opentelemetry()
    from otlp import OtlpGrpcReceiver

    receiver = OtlpGrpcReceiver()
    pipelines = make_pipelines(tmp_path)
    runner = RunnerProcess(
        stack, pipelines, pipelines.parent / "runner.log",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_BSP_SCHEDULE_DELAY="200",
    )
    try:
        runner.start()
        client.upload(str(REPO / "data" / "samples" / "trips.csv"), name)
        job_id, trace_id = submit(stack, {"entrypoint": "pipelines.daily:summary", "parameters": {"day": "2024-01-05", "source": name, "target": name + "_g"}})
        client.wait(job_id)
        job = eventually(lambda: job_span(receiver, job_id), 15, "the job span over gRPC")
        assert job.trace_id == trace_id
        eventually(lambda: any(s.parent_span_id == job.span_id for s in receiver.spans), 15, "the pipeline's spans over gRPC")
    finally:
        runner.stop()
        receiver.close()
