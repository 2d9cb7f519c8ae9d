using System.Text;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>What a real Processing process sends to an OTLP endpoint configured the way Aspire configures it.</summary>
public sealed class ExportedTelemetryTests(ExportedTelemetryFixture run) : IClassFixture<ExportedTelemetryFixture>
{
    [Fact]
    public void TracesMetricsAndLogsArriveOverOtlpHttpWithTheServiceNameResourceAttributesAndHeaders()
    {
        // Arrange
        var signals = new[] { "traces", "metrics", "logs" };

        // Act
        var requests = signals.ToDictionary(s => s, s => run.Receiver.Signal(s).ToList());
        var resources = run.Receiver.Spans().Select(s => s.Resource)
            .Concat(run.Receiver.Metrics().Select(m => m.Resource))
            .Concat(run.Receiver.Logs().Select(l => l.Resource))
            .ToList();

        // Assert
        foreach (var signal in signals)
        {
            Assert.NotEmpty(requests[signal]);
            Assert.All(requests[signal], r => Assert.Equal("application/x-protobuf", r.ContentType));
            Assert.All(requests[signal], r => Assert.Equal("yes", r.Headers[ExportedTelemetryFixture.ExtraHeader]));
            Assert.All(requests[signal], r => Assert.True(
                Contains(r.Body, ExportedTelemetryFixture.ServiceName), $"{signal} payload without the service name"));
        }

        Assert.NotEmpty(resources);
        Assert.All(resources, resource => Assert.Equal(ExportedTelemetryFixture.ServiceName, resource["service.name"]));
        Assert.All(resources, resource => Assert.Equal(
            ExportedTelemetryFixture.ResourceAttributeValue, resource[ExportedTelemetryFixture.ResourceAttribute]));
    }

    [Fact]
    public void RequestSpanContinuesTheClientTraceAndTheJobSpanIsItsChildLinkedToItWithItsSqlSpansAsChildren()
    {
        // Arrange
        var spans = run.Receiver.Spans();
        var clientTraceId = run.SubmitContext.TraceId.ToHexString();

        // Act
        var server = Assert.Single(spans, s => s.TraceId == clientTraceId && s.Scope == "Microsoft.AspNetCore");
        var job = Assert.Single(spans, s => s.Name == "job noop" && s.Attributes["datastack.job.id"] == run.SucceededJob.Id.ToString());
        var traceSql = spans.Where(s => s.Scope == "Npgsql" && s.TraceId == clientTraceId).ToList();
        var jobSql = traceSql.Where(s => s.ParentSpanId == job.SpanId).ToList();
        var submitSql = traceSql.Where(s => s.ParentSpanId == server.SpanId).ToList();

        // Assert
        Assert.Equal(2, server.Kind);
        Assert.StartsWith("POST /jobs", server.Name, StringComparison.Ordinal);
        Assert.Equal(run.SubmitContext.SpanId.ToHexString(), server.ParentSpanId);
        Assert.Equal(clientTraceId, run.SucceededJob.TraceId);

        // The default Processing:JobTraceMode: the job continues the request's trace, and keeps the link to it.
        Assert.Equal(clientTraceId, job.TraceId);
        Assert.Equal(server.SpanId, job.ParentSpanId);
        Assert.Equal(5, job.Kind);
        Assert.Contains((server.TraceId, server.SpanId), job.Links);

        Assert.NotEmpty(jobSql);
        Assert.NotEmpty(submitSql);
        Assert.Equal(traceSql.Count, jobSql.Count + submitSql.Count);
    }

    [Fact]
    public void FailedJobSpanCarriesTheErrorCodeButNotTheUserMessage()
    {
        // Arrange
        var spans = run.Receiver.Spans();

        // Act
        var failed = Assert.Single(spans, s => s.Name == "job noop" && s.Attributes["datastack.job.id"] == run.FailedJob.Id.ToString());
        var failedLog = Assert.Single(run.Receiver.Logs(), l => l.Body.Contains($"Job {run.FailedJob.Id} (noop) failed", StringComparison.Ordinal));

        // Assert
        Assert.Equal("noop_failed", failed.Attributes["error.type"]);
        Assert.Equal("failed", failed.Attributes["datastack.job.status"]);
        Assert.DoesNotContain(failed.Attributes.Values, v => v.Contains("asked to fail", StringComparison.Ordinal));
        Assert.Contains("noop_failed", failedLog.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("asked to fail", failedLog.Body, StringComparison.Ordinal);
        Assert.Equal(failed.TraceId, failedLog.TraceId);
    }

    [Fact]
    public void HealthProbesAndBackgroundPollingAreNotTraced()
    {
        // Arrange
        var spans = run.Receiver.Spans();
        var probeTraceId = run.HealthProbeTraceId.ToHexString();

        // Act
        var probeSpans = spans.Where(s => s.TraceId == probeTraceId
            || s.Attributes.GetValueOrDefault("url.path") is "/health" or "/alive").ToList();
        var detachedSql = spans.Where(s => s.Scope == "Npgsql" && s.ParentSpanId == "").ToList();

        // Assert
        Assert.Empty(probeSpans);
        Assert.Empty(detachedSql);
        Assert.Contains(spans, s => s.Scope == "Npgsql");
    }

    [Fact]
    public void MetricsIncludeTheJobInstrumentsAndDotNetsOwn()
    {
        // Arrange
        string[] jobInstruments =
            ["datastack.jobs.completed", "datastack.job.duration", "datastack.job.queue_wait", "datastack.jobs.queued"];

        // Act
        var metrics = run.Receiver.Metrics();

        // Assert
        foreach (var name in jobInstruments)
        {
            Assert.Contains(metrics, m => m.Name == name && m.Scope == "DataStack.Processing");
        }

        Assert.Contains(metrics, m => m.Name == "http.server.request.duration" && m.Scope == "Microsoft.AspNetCore.Hosting");
        Assert.Contains(metrics, m => m.Scope == "System.Runtime");
    }

    [Fact]
    public void LogsCarryTheTraceAndSpanIdOfTheJobTheyBelongTo()
    {
        // Arrange
        var job = run.Receiver.Spans().Single(s => s.Name == "job noop" && s.Attributes["datastack.job.id"] == run.SucceededJob.Id.ToString());

        // Act
        var succeeded = Assert.Single(
            run.Receiver.Logs(), l => l.Body.Contains($"Job {run.SucceededJob.Id} (noop) succeeded", StringComparison.Ordinal));

        // Assert
        Assert.Equal(job.TraceId, succeeded.TraceId);
        Assert.Equal(job.SpanId, succeeded.SpanId);
        Assert.Equal("DataStack.Processing.Jobs.JobWorker", succeeded.Scope);
    }

    [Fact]
    public void GracefulShutdownExportsWhatWasStillBuffered()
    {
        // Arrange
        var logs = run.Receiver.Logs();

        // Act
        var shuttingDown = logs.Where(l => l.Body.Contains("Application is shutting down", StringComparison.Ordinal)).ToList();

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.NotEmpty(shuttingDown);
    }

    [Fact]
    public void NothingExportedOrPrintedContainsTheApiKeyOrTheDatabasePassword()
    {
        // Arrange
        string[] secrets = [run.ApiKey, run.DatabasePassword];

        // Act
        var payloads = run.Receiver.Requests.ToList();

        // Assert
        Assert.Contains(run.Receiver.Logs(), l => l.Severity is >= 5 and <= 8);
        Assert.Contains(run.Receiver.Logs(), l => l.Scope == "DataStack.Processing.Api.ApiKeyAuthenticationHandler");
        foreach (var secret in secrets)
        {
            Assert.All(payloads, p => Assert.False(Contains(p.Body, secret), $"A {p.Signal} payload contains a secret."));
            Assert.DoesNotContain(secret, run.ConsoleOutput, StringComparison.Ordinal);
        }
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
