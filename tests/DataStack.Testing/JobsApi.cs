using System.Net;
using System.Text.Json;

namespace DataStack.Testing;

/// <summary>
/// Processing's <c>/jobs</c> API as every test and the benchmark wait on it: the id of an accepted job, and its end,
/// waited for on the server (<c>/jobs/{id}/wait</c> answers on LISTEN/NOTIFY). Jobs come back as JSON, for each caller
/// to read into its own shape; failures say what the server answered.
/// </summary>
public static class JobsApi
{
    private static readonly HashSet<string> s_ended = ["succeeded", "failed", "cancelled"];

    /// <summary>The job of a <c>202 Accepted</c> (or, for a repeated idempotency key, <c>200</c>) answer; anything else throws with the answer.</summary>
    public static async Task<JsonElement> AcceptedAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.OK))
        {
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} answered {(int)response.StatusCode}: {body}");
        }

        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    /// <summary>The id of a job as JSON (<c>id</c>).</summary>
    public static Guid IdOf(JsonElement job) => job.GetProperty("id").GetGuid();

    /// <summary>Whether the job has ended (succeeded, failed or cancelled).</summary>
    public static bool HasEnded(JsonElement job) => s_ended.Contains(job.GetProperty("status").GetString()!);

    /// <summary>
    /// Waits until the job has ended and returns it, at most <paramref name="timeout"/>. A request cut off by a replica
    /// that died (behind a proxy that sends the next one elsewhere) is made again.
    /// </summary>
    public static async Task<JsonElement> WaitForEndAsync(HttpClient client, Guid id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            var seconds = (int)Math.Clamp((deadline - DateTime.UtcNow).TotalSeconds, 0, 30);
            try
            {
                using var response = await client.GetAsync($"/jobs/{id}/wait?timeout={seconds}", cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                last = $"{(int)response.StatusCode}: {body}";
                if (response.IsSuccessStatusCode)
                {
                    using var document = JsonDocument.Parse(body);
                    if (HasEnded(document.RootElement))
                    {
                        return document.RootElement.Clone();
                    }
                }
                else if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway))
                {
                    throw new HttpRequestException($"GET /jobs/{id}/wait answered {last}");
                }
            }
            catch (HttpRequestException ex) when (ex.StatusCode is null)
            {
                last = ex.Message; // Connection refused or reset by a replica that is gone: ask again.
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }

        throw new TimeoutException($"Job {id} did not end within {timeout.TotalSeconds:F0}s (last answer: {last}).");
    }
}
