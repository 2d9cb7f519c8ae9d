using System.Net.Http.Headers;
using System.Text.Json;
using DataStack.Testing;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// Processing's HTTP API as the stack tests use it: a client with the run's key, job ids, waiting for a job.
/// </summary>
internal static class ProcessingApi
{
    /// <summary>A client for the <c>processing</c> endpoint (DCP's proxy in front of every replica), with the API key.</summary>
    public static HttpClient CreateClient(StackFixture stack)
    {
        var http = stack.App.CreateHttpClient("processing", "http");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack.ApiKey);
        return http;
    }

    public static StringContent Csv(string text)
    {
        var content = new StringContent(text);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        return content;
    }

    /// <summary>The job id of a <c>202 Accepted</c> answer (<see cref="JobsApi.AcceptedAsync"/>: anything else throws with the answer's body).</summary>
    public static async Task<string> ReadJobIdAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        IdOf(await JobsApi.AcceptedAsync(response, cancellationToken));

    public static string IdOf(JsonElement job) =>
        job.GetProperty("id") is { ValueKind: JsonValueKind.String } id ? id.GetString()! : job.GetProperty("id").GetRawText();

    /// <summary>Waits until the job ends (<see cref="JobsApi.WaitForEndAsync"/>: a replica that was just killed is asked again) and returns it.</summary>
    public static Task<JsonElement> WaitForJobAsync(HttpClient http, string jobId, CancellationToken cancellationToken) =>
        JobsApi.WaitForEndAsync(http, Guid.Parse(jobId), TimeSpan.FromMinutes(5), cancellationToken);

    public static async Task<string> WaitForStatusAsync(HttpClient http, string jobId, CancellationToken cancellationToken) =>
        (await WaitForJobAsync(http, jobId, cancellationToken)).GetProperty("status").GetString()!;
}
