using DataStack.Processing.Jobs;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary><c>Processing:JobTraceMode=NewTrace</c>: each job attempt is the root of a trace of its own, linked to the request.</summary>
public sealed class JobNewTraceModeTests(NewTraceProcessingApp traced) : IClassFixture<NewTraceProcessingApp>
{
    [Fact]
    public async Task EachAttemptStartsANewTraceLinkedToTheSubmittingRequestWithItsSqlUnderIt()
    {
        // Arrange
        using var client = TestClients.Create(traced.App.Client.BaseAddress!, traced.App.ApiKey);
        var (header, traceId, _) = TestClients.NewTraceParent();

        // Act
        var (done, server) = await JobTraces.SubmitNoopAsync(traced, client, header, traceId, new { transientFailures = 1 });
        var attempts = await JobTraces.JobSpansAsync(traced, done.Id, count: 2);
        var jobSql = await traced.SpansAsync(a => a.Source.Name == "Npgsql" && attempts.Contains(a.Parent), "the jobs' SQL spans");

        // Assert
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(traceId.ToHexString(), done.TraceId);
        Assert.Equal(2, attempts.Select(a => a.TraceId).Distinct().Count());
        Assert.All(attempts, a => Assert.NotEqual(traceId, a.TraceId));
        Assert.All(attempts, a => Assert.Equal(default, a.ParentSpanId));
        Assert.All(attempts, a =>
        {
            var link = Assert.Single(a.Links);
            Assert.Equal(server.TraceId, link.Context.TraceId);
            Assert.Equal(server.SpanId, link.Context.SpanId);
        });
        Assert.Equal([1, 2], attempts.Select(a => (int)a.GetTagItem("datastack.job.attempt")!).Order());
        Assert.All(jobSql, sql => Assert.NotEqual(traceId, sql.TraceId));
    }
}
