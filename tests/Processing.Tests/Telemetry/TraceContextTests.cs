using System.Diagnostics;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// How spans connect: client trace context in, the job (each attempt) under the submitting request with a link
/// to it (the default <c>Processing:JobTraceMode</c>), SQL under the job, probes left out, context out.
/// </summary>
public sealed class TraceContextTests(TracedProcessingApp traced) : IClassFixture<TracedProcessingApp>
{
    [Fact]
    public async Task ServerSpanContinuesTheTraceOfAnIncomingTraceparent()
    {
        // Arrange
        using var client = TestClients.Create(traced.App.Client.BaseAddress!, traced.App.ApiKey);
        var (header, traceId, spanId) = TestClients.NewTraceParent();

        // Act
        using var response = await client.SendAsync(TestClients.Request(HttpMethod.Get, "/jobs?limit=1", header));
        var server = Assert.Single(await traced.SpansAsync(
            a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId, "the server span of GET /jobs"));

        // Assert
        response.EnsureSuccessStatusCode();
        Assert.Equal(ActivityKind.Server, server.Kind);
        Assert.StartsWith("GET /jobs", server.DisplayName, StringComparison.Ordinal);
        Assert.Equal("/jobs", server.GetTagItem("url.path"));
        Assert.Equal(200, server.GetTagItem("http.response.status_code"));
        Assert.StartsWith("/jobs", server.GetTagItem("http.route") as string, StringComparison.Ordinal);
        Assert.Equal(spanId, server.ParentSpanId);
        Assert.True(server.HasRemoteParent);
        Assert.True(server.Recorded);
    }

    [Fact]
    public async Task JobSpanIsAChildOfTheSubmittingRequestLinkedToItAndParentsTheJobsSqlSpans()
    {
        // Arrange
        using var client = TestClients.Create(traced.App.Client.BaseAddress!, traced.App.ApiKey);
        var (header, traceId, _) = TestClients.NewTraceParent();

        // Act
        var (done, server) = await JobTraces.SubmitNoopAsync(traced, client, header, traceId, new { });
        var job = Assert.Single(await JobTraces.JobSpansAsync(traced, done.Id, count: 1));
        var jobSql = await traced.SpansAsync(a => a.Source.Name == "Npgsql" && a.Parent == job, "the job's SQL spans");

        // Assert
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(traceId.ToHexString(), done.TraceId);
        Assert.Equal("job noop", job.DisplayName);
        Assert.Equal(ActivityKind.Consumer, job.Kind);
        Assert.Equal(traceId, job.TraceId);
        Assert.Equal(server.SpanId, job.ParentSpanId);
        Assert.True(job.HasRemoteParent);
        var link = Assert.Single(job.Links);
        Assert.Equal(server.TraceId, link.Context.TraceId);
        Assert.Equal(server.SpanId, link.Context.SpanId);
        Assert.All(jobSql, sql => Assert.Equal(traceId, sql.TraceId));
        Assert.All(jobSql, sql => Assert.True(sql.Recorded));
    }

    [Fact]
    public async Task EachAttemptOfARetriedJobIsASpanUnderTheSubmittingRequest()
    {
        // Arrange
        using var client = TestClients.Create(traced.App.Client.BaseAddress!, traced.App.ApiKey);
        var (header, traceId, _) = TestClients.NewTraceParent();

        // Act
        var (done, server) = await JobTraces.SubmitNoopAsync(traced, client, header, traceId, new { transientFailures = 1 });
        var attempts = (await JobTraces.JobSpansAsync(traced, done.Id, count: 2)).OrderBy(a => a.GetTagItem("datastack.job.attempt")).ToList();

        // Assert
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(2, done.Attempts);
        Assert.Equal([1, 2], attempts.Select(a => (int)a.GetTagItem("datastack.job.attempt")!));
        Assert.All(attempts, a => Assert.Equal(server.SpanId, a.ParentSpanId));
        var maxAttempts = traced.App.Services.GetRequiredService<IOptions<JobQueueOptions>>().Value.MaxAttempts;
        Assert.All(attempts, a => Assert.Equal(maxAttempts, a.GetTagItem("datastack.job.max_attempts")));
        Assert.Equal("retrying", attempts[0].GetTagItem("datastack.job.status"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal("transient", attempts[0].GetTagItem("error.type"));
        Assert.Equal("succeeded", attempts[1].GetTagItem("datastack.job.status"));
        Assert.Equal(ActivityStatusCode.Unset, attempts[1].Status);
    }

    [Fact]
    public async Task HealthProbeSpansAreNeitherRecordedNorExported()
    {
        // Arrange
        using var anonymous = TestClients.Create(traced.App.Client.BaseAddress!, apiKey: null);
        using var client = TestClients.Create(traced.App.Client.BaseAddress!, traced.App.ApiKey);
        var (probeHeader, probeTraceId, _) = TestClients.NewTraceParent();
        var (controlHeader, controlTraceId, _) = TestClients.NewTraceParent();

        // Act
        using (var health = await anonymous.SendAsync(TestClients.Request(HttpMethod.Get, "/health", probeHeader)))
        using (var alive = await anonymous.SendAsync(TestClients.Request(HttpMethod.Get, "/alive", probeHeader)))
        {
            health.EnsureSuccessStatusCode();
            alive.EnsureSuccessStatusCode();
        }

        await Poll.UntilAsync(
            () => traced.Stopped.Count(a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == probeTraceId) == 2,
            TimeSpan.FromSeconds(30),
            "both probes' server spans");
        var probeSpans = traced.Stopped.Where(a => a.TraceId == probeTraceId).ToList();

        // A later, traced request: once its span is exported, an exported probe span would have been too.
        using (var control = await client.SendAsync(TestClients.Request(HttpMethod.Get, "/jobs?limit=1", controlHeader)))
        {
            control.EnsureSuccessStatusCode();
        }

        await Poll.UntilAsync(
            () => traced.Receiver.Spans().Any(s => s.TraceId == controlTraceId.ToHexString()), TimeSpan.FromSeconds(30), "the control span's export");

        // Assert
        // The health check's SELECT 1 has an unsampled local parent: the SDK does not even create its span.
        Assert.Equal(2, probeSpans.Count(a => a.Source.Name == "Microsoft.AspNetCore"));
        Assert.All(probeSpans, a => Assert.False(a.Recorded || a.IsAllDataRequested, $"{a.Source.Name}: {a.DisplayName} is recorded"));
        Assert.DoesNotContain(traced.Receiver.Spans(), s => s.TraceId == probeTraceId.ToHexString());
    }

    [Fact]
    public async Task OutgoingHttpClientCallsCarryTheCurrentTraceContext()
    {
        // Arrange
        using var client = new HttpClient { BaseAddress = new Uri(traced.Receiver.Endpoint) };
        using var parent = ProcessingTelemetry.ActivitySource.StartActivity("test outgoing call");
        Assert.NotNull(parent);

        // Act
        using (var response = await client.GetAsync("/echo"))
        {
            response.EnsureSuccessStatusCode();
        }

        var httpClientSpan = Assert.Single(await traced.SpansAsync(
            a => a.Source.Name == "System.Net.Http" && a.Parent == parent, "the HttpClient span"));

        // Assert
        Assert.Contains($"00-{parent.TraceId}-{httpClientSpan.SpanId}-01", traced.Receiver.EchoedTraceParents);
    }
}
