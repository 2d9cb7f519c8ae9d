using System.Text.Json;
using Xunit.Abstractions;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// What the dashboard received: one upload from the notebook container (a script, not a notebook: NotebookTraceTests
/// has the notebook's half of the trace), followed across processing and postgres.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class DashboardTelemetryTests(StackFixture stack, ITestOutputHelper output)
{
    [DockerFact]
    public async Task DashboardHoldsTheUploadTraceFromRequestToJobToSql()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var dashboard = await DashboardTelemetry.CreateAsync(stack, cts.Token);
        var name = $"tr_{Guid.NewGuid():N}"[..20];
        var printed = await stack.RunPythonInJupyterAsync($$"""
            import json
            import pandas as pd
            import datastack as ds
            client = ds.connect(progress=False)
            uploaded = client.upload(pd.DataFrame({"x": [1, 2, 3]}), "{{name}}", mode="replace")
            print(json.dumps({"trace": client.job(uploaded.job_id).trace_id}))
            """, cts.Token);
        using var result = JsonDocument.Parse(printed.Trim().Split('\n')[^1]);
        var traceId = result.RootElement.GetProperty("trace").GetString()!;

        // Act
        var requestTrace = await dashboard.WaitForSpansAsync(
            traceId,
            spans => spans.Any(span => span.Name.StartsWith("PUT /datasets/", StringComparison.Ordinal)) && spans.Any(span => span.IsJobIngest),
            cts.Token);
        var job = requestTrace.First(span => span.IsJobIngest);
        var jobTrace = await dashboard.WaitForSpansAsync(job.TraceId, spans => spans.Any(span => span.IsSql), cts.Token);

        // Assert
        var put = requestTrace.First(span => span.Name.StartsWith("PUT /datasets/", StringComparison.Ordinal));
        Assert.Equal("processing", put.Service);
        Assert.Equal(put.TraceId, job.TraceId);
        Assert.Contains(job.Links, link => link.TraceId == put.TraceId);
        Assert.Contains(jobTrace, span => span.IsSql && span.Service == "processing");
        output.WriteLine($"Trace {traceId}: {string.Join(" | ", requestTrace.Select(span => $"{span.Service}: {span.Name}"))}");
    }

    [DockerFact]
    public async Task ProcessingStructuredLogsReachTheDashboard()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var dashboard = await DashboardTelemetry.CreateAsync(stack, cts.Token);

        // Act
        var services = await dashboard.GetLogServicesAsync(cts.Token);

        // Assert
        Assert.Contains("processing", services);
    }

}
