using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>How spans connect: client trace context in, job links, SQL under the job, probes left out, context out.</summary>
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
    public async Task JobSpanIsLinkedToTheSubmittingRequestAndParentsTheJobsSqlSpans()
    {
        // Arrange
        using var client = TestClients.Create(traced.App.Client.BaseAddress!, traced.App.ApiKey);
        var (header, traceId, _) = TestClients.NewTraceParent();

        // Act
        using var response = await client.SendAsync(
            TestClients.Request(HttpMethod.Post, "/jobs", header, JsonContent.Create(new { kind = "noop", args = new { } })));
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        var done = await traced.App.WaitAsync(queued!.Id);
        var server = Assert.Single(await traced.SpansAsync(
            a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId, "the server span of POST /jobs"));
        var job = Assert.Single(await traced.SpansAsync(
            a => a.Source.Name == ProcessingTelemetry.Name && a.GetTagItem("datastack.job.id") as string == done.Id.ToString(),
            "the job's span"));
        var jobSql = await traced.SpansAsync(a => a.Source.Name == "Npgsql" && a.TraceId == job.TraceId, "the job's SQL spans");

        // Assert
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(traceId.ToHexString(), done.TraceId);
        Assert.Equal("job noop", job.DisplayName);
        Assert.NotEqual(traceId, job.TraceId);
        Assert.Equal(default, job.ParentSpanId);
        var link = Assert.Single(job.Links);
        Assert.Equal(server.TraceId, link.Context.TraceId);
        Assert.Equal(server.SpanId, link.Context.SpanId);
        Assert.All(jobSql, sql => Assert.Same(job, sql.Parent));
        Assert.All(jobSql, sql => Assert.True(sql.Recorded));
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

        await Eventually.HoldsAsync(
            () => traced.Stopped.Count(a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == probeTraceId) == 2,
            TimeSpan.FromSeconds(30),
            "both probes' server spans");
        var probeSpans = traced.Stopped.Where(a => a.TraceId == probeTraceId).ToList();

        // A later, traced request: once its span is exported, an exported probe span would have been too.
        using (var control = await client.SendAsync(TestClients.Request(HttpMethod.Get, "/jobs?limit=1", controlHeader)))
        {
            control.EnsureSuccessStatusCode();
        }

        await Eventually.HoldsAsync(
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
