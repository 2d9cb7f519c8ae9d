using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace DataStack.AppHost.Tests;

/// <summary>
/// The running stack, end to end, through Processing's HTTP API. Needs a container runtime (see <see cref="DockerFactAttribute"/>).
/// </summary>
public sealed class AppHostEndToEndTests(RunningStackFixture stack) : IClassFixture<RunningStackFixture>
{
    private static TimeSpan RequestTimeout { get; } = TimeSpan.FromMinutes(2);

    [DockerFact]
    public async Task ProcessingIsHealthyOnceTheStackHasStarted()
    {
        // Arrange
        using var cts = new CancellationTokenSource(RequestTimeout);
        using var http = stack.App.CreateHttpClient("processing", "http");

        // Act
        using var response = await http.GetAsync("/health", cts.Token);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [DockerFact]
    public async Task UploadedCsvBecomesADatasetWhoseRowsCanBeRead()
    {
        // Arrange
        using var cts = new CancellationTokenSource(RequestTimeout);
        using var http = stack.App.CreateHttpClient("processing", "http");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack.ApiKey);
        using var csv = new StringContent("trip_id,passenger_count,fare\n1,2,12.5\n2,1,7.25\n");
        csv.Headers.ContentType = new MediaTypeHeaderValue("text/csv");

        // Act
        using var upload = await http.PutAsync("/datasets/e2e_trips?mode=replace", csv, cts.Token);
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
        var jobId = await ReadJobIdAsync(upload, cts.Token);
        using var wait = await http.GetAsync($"/jobs/{jobId}/wait?timeout=60", cts.Token);
        using var job = JsonDocument.Parse(await wait.Content.ReadAsStringAsync(cts.Token));
        using var rows = await http.GetAsync("/datasets/e2e_trips/rows", cts.Token);
        var body = await rows.Content.ReadAsStringAsync(cts.Token);

        // Assert
        Assert.Equal(HttpStatusCode.OK, wait.StatusCode);
        Assert.Equal("succeeded", job.RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, rows.StatusCode);
        Assert.Contains("12.5", body, StringComparison.Ordinal);
        Assert.Contains("7.25", body, StringComparison.Ordinal);
    }

    private static async Task<string> ReadJobIdAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var id = document.RootElement.GetProperty("id");
        return id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();
    }
}
