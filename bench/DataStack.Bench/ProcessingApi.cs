using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Testing;

namespace DataStack.Bench;

/// <summary>The few Processing calls the benchmark makes, over plain HttpClient.</summary>
public static class ProcessingApi
{
    /// <summary><c>PUT /datasets/{name}?mode=replace</c> with the file as the body, then waits for the ingest job.</summary>
    public static async Task<JobResult> UploadAsync(HttpClient client, string dataset, string csvPath, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(csvPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var content = new StreamContent(file, 1 << 16);
        content.Headers.ContentType = new("text/csv");
        using var response = await client.PutAsync($"/datasets/{dataset}?mode=replace", content, cancellationToken);
        return await WaitAsync(client, JobsApi.IdOf(await JobsApi.AcceptedAsync(response, cancellationToken)), cancellationToken);
    }

    /// <summary><c>POST /datasets/{name}/ingest</c> for a file already in the data folder, then waits for the job.</summary>
    public static async Task<JobResult> IngestFileAsync(HttpClient client, string dataset, string relativePath, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync($"/datasets/{dataset}/ingest", new { path = relativePath, mode = "replace" }, cancellationToken);
        return await WaitAsync(client, JobsApi.IdOf(await JobsApi.AcceptedAsync(response, cancellationToken)), cancellationToken);
    }

    /// <summary><c>POST /jobs</c> of <paramref name="job"/>; returns its id without waiting.</summary>
    public static async Task<Guid> SubmitAsync(HttpClient client, BenchJob job, CancellationToken cancellationToken)
    {
        using var content = new StringContent(job.Body, System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/jobs", content, cancellationToken);
        return JobsApi.IdOf(await JobsApi.AcceptedAsync(response, cancellationToken));
    }

    public static async Task<JobResult> WaitAsync(HttpClient client, Guid id, CancellationToken cancellationToken)
    {
        var job = await JobsApi.WaitForEndAsync(client, id, TimeSpan.FromMinutes(30), cancellationToken);
        var status = job.GetProperty("status").GetString()!;
        DateTimeOffset? Time(string name) => job.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetDateTimeOffset() : null;
        var error = job.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e.GetRawText() : null;
        return new JobResult(id, status, Time("createdAt")!.Value, Time("startedAt"), Time("finishedAt"), error);
    }
}
