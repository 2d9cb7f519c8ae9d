using System.Net;
using System.Net.Http.Headers;
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
        using var http = ProcessingClient();

        // Act
        var result = await stack.App.ResourceCommands.ExecuteCommandAsync(stack.GetResourceIds("processing")[0], "load-sample-data", cts.Token);
        var job = await WaitForLatestJobAsync(http, "ingest", cts.Token);

        // Assert
        Assert.True(result.Success, result.Message);
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal((long)sampleRows, await Sql.ScalarAsync<long>(await AnalyticsAsync(cts.Token), "select count(*) from datasets.trips"));
    }

    [DockerFact]
    public async Task RequeueFailedJobsCommandRunsAFailedJobAgain()
    {
        // Arrange: a transform of a dataset that does not exist yet fails ...
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var http = ProcessingClient();
        var source = $"src_{Guid.NewGuid():N}"[..20];
        var target = $"{source}_t";
        using var submit = await http.PostAsJsonAsync($"/datasets/{target}/transform", new { query = $"select x * 2 as y from datasets.{source}" }, cts.Token);
        var jobId = await ReadIdAsync(submit, cts.Token);
        Assert.Equal("failed", (await WaitAsync(http, jobId, cts.Token)).GetProperty("status").GetString());

        // ... and can succeed once the dataset is there.
        using var csv = new StringContent("x\n1\n2\n3\n");
        csv.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var upload = await http.PutAsync($"/datasets/{source}?mode=replace", csv, cts.Token);
        Assert.Equal("succeeded", (await WaitAsync(http, await ReadIdAsync(upload, cts.Token), cts.Token)).GetProperty("status").GetString());

        // Act
        var result = await stack.App.ResourceCommands.ExecuteCommandAsync(stack.GetResourceIds("processing")[0], "requeue-failed-jobs", cts.Token);
        var job = await WaitAsync(http, jobId, cts.Token);

        // Assert
        Assert.True(result.Success, result.Message);
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(12L, await Sql.ScalarAsync<long>(await AnalyticsAsync(cts.Token), $"select sum(y) from datasets.{target}"));
    }

    private HttpClient ProcessingClient()
    {
        var http = stack.App.CreateHttpClient("processing", "http");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack.ApiKey);
        return http;
    }

    private async Task<string> AnalyticsAsync(CancellationToken cancellationToken) =>
        await stack.App.GetConnectionStringAsync("analytics", cancellationToken) ?? throw new InvalidOperationException("analytics has no connection string");

    private static async Task<JsonElement> WaitForLatestJobAsync(HttpClient http, string kind, CancellationToken cancellationToken)
    {
        using var list = JsonDocument.Parse(await http.GetStringAsync("/jobs?limit=20", cancellationToken));
        var items = list.RootElement.ValueKind == JsonValueKind.Array ? list.RootElement : list.RootElement.GetProperty("items");
        var latest = items.EnumerateArray().First(job => job.GetProperty("kind").GetString() == kind);
        return await WaitAsync(http, IdOf(latest), cancellationToken);
    }

    private static async Task<JsonElement> WaitAsync(HttpClient http, string jobId, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/jobs/{jobId}/wait?timeout=60", cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return document.RootElement.Clone();
    }

    private static async Task<string> ReadIdAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return IdOf(document.RootElement);
    }

    private static string IdOf(JsonElement job) =>
        job.GetProperty("id") is { ValueKind: JsonValueKind.String } id ? id.GetString()! : job.GetProperty("id").GetRawText();
}
