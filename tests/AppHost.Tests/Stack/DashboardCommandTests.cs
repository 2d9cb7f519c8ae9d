using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Testing;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The buttons the AppHost adds to <c>processing</c> in the dashboard, run through the same command service the
/// dashboard calls, and checked in the database.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class DashboardCommandTests(StackFixture stack)
{
    [DockerFact]
    public async Task LoadSampleDataCommandIngestsTheSampleTripsDataset()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var sampleRows = File.ReadLines(Path.Combine(Projects.AppHost.ProjectPath, "..", "data", "samples", "trips.csv")).Count() - 1;
        using var http = ProcessingApi.CreateClient(stack);

        // Act
        var result = await stack.App.ResourceCommands.ExecuteCommandAsync(stack.GetResourceIds("processing")[0], "load-sample-data", cts.Token);
        // The command shows Processing's answer, the 202 with the job it queued: this command's own job.
        Assert.True(result.Success, result.Message);
        using var job = JsonDocument.Parse(result.Data?.Value ?? throw new InvalidOperationException("the command returned no data"));
        var status = await ProcessingApi.WaitForStatusAsync(http, ProcessingApi.IdOf(job.RootElement), cts.Token);

        // Assert
        Assert.Equal("ingest", job.RootElement.GetProperty("kind").GetString());
        Assert.Equal("succeeded", status);
        Assert.Equal((long)sampleRows, await Sql.ScalarAsync<long>(await stack.GetAnalyticsAsync(cts.Token), "select count(*) from datasets.trips"));
    }

    [DockerFact]
    public async Task RequeueFailedJobsCommandRunsAFailedJobAgain()
    {
        // Arrange: a transform of a dataset that does not exist yet fails ...
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var http = ProcessingApi.CreateClient(stack);
        var source = $"src_{Guid.NewGuid():N}"[..20];
        var target = $"{source}_t";
        using var submit = await http.PostAsJsonAsync($"/datasets/{target}/transform", new { query = $"select x * 2 as y from datasets.{source}" }, cts.Token);
        var jobId = await ProcessingApi.ReadJobIdAsync(submit, cts.Token);
        Assert.Equal("failed", await ProcessingApi.WaitForStatusAsync(http, jobId, cts.Token));

        // ... and can succeed once the dataset is there.
        using var csv = ProcessingApi.Csv("x\n1\n2\n3\n");
        using var upload = await http.PutAsync($"/datasets/{source}?mode=replace", csv, cts.Token);
        Assert.Equal("succeeded", await ProcessingApi.WaitForStatusAsync(http, await ProcessingApi.ReadJobIdAsync(upload, cts.Token), cts.Token));

        // Act
        var result = await stack.App.ResourceCommands.ExecuteCommandAsync(stack.GetResourceIds("processing")[0], "requeue-failed-jobs", cts.Token);
        var status = await ProcessingApi.WaitForStatusAsync(http, jobId, cts.Token);

        // Assert
        Assert.True(result.Success, result.Message);
        Assert.Equal("succeeded", status);
        Assert.Equal(12L, await Sql.ScalarAsync<long>(await stack.GetAnalyticsAsync(cts.Token), $"select sum(y)::bigint from datasets.{target}"));
    }
}
