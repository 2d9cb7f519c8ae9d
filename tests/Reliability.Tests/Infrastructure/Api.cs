using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Testing;

namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>The Processing HTTP calls the tests make, with failures that say what the server answered.</summary>
public static class Api
{
    public static JsonSerializerOptions Json => JsonSerializerOptions.Web;

    /// <summary>Queues a <c>noop</c> job that waits <paramref name="durationMs"/> and then succeeds, or fails when asked.</summary>
    public static async Task<WireJob> SubmitNoopAsync(HttpClient client, int durationMs = 0, bool fail = false, string? idempotencyKey = null)
    {
        using var response = await client.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { durationMs, fail }, idempotencyKey }, Json);
        await EnsureSuccessAsync(response, "POST /jobs");
        return (await response.Content.ReadFromJsonAsync<WireJob>(Json))!;
    }

    /// <summary>Waits (server side, <see cref="JobsApi.WaitForEndAsync"/>) for the job to end, at most <paramref name="timeoutSeconds"/>.</summary>
    public static async Task<WireJob> WaitAsync(HttpClient client, Guid id, int timeoutSeconds = 60) =>
        (await JobsApi.WaitForEndAsync(client, id, TimeSpan.FromSeconds(timeoutSeconds))).Deserialize<WireJob>(Json)!;

    public static async Task EnsureSuccessAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{what} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
