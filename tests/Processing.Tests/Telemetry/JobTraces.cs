using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>Submits a traced noop job and finds the spans of its attempts, for the job-trace tests.</summary>
internal static class JobTraces
{
    /// <summary>
    /// <c>POST /jobs</c> (kind noop, <paramref name="args"/>) with <paramref name="traceParent"/>, waits until the job
    /// has ended, and returns it with the server span of the request.
    /// </summary>
    public static async Task<(Job Done, Activity Server)> SubmitNoopAsync(
        TracedProcessingApp traced, HttpClient client, string traceParent, ActivityTraceId traceId, object args)
    {
        using var response = await client.SendAsync(
            TestClients.Request(HttpMethod.Post, "/jobs", traceParent, JsonContent.Create(new { kind = "noop", args })));
        response.EnsureSuccessStatusCode();
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        var done = await traced.App.WaitAsync(queued!.Id);
        var server = Assert.Single(await traced.SpansAsync(
            a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId, "the server span of POST /jobs"));
        return (done, server);
    }

    /// <summary>Waits (bounded) until <paramref name="count"/> attempts of the job have ended, and returns their spans.</summary>
    public static async Task<IReadOnlyList<Activity>> JobSpansAsync(TracedProcessingApp traced, Guid jobId, int count)
    {
        bool IsJob(Activity a) => a.Source.Name == ProcessingTelemetry.Name && a.GetTagItem("datastack.job.id") as string == jobId.ToString();
        await Poll.UntilAsync(() => traced.Stopped.Count(IsJob) >= count, TimeSpan.FromSeconds(30), $"{count} span(s) of job {jobId}");
        return [.. traced.Stopped.Where(IsJob)];
    }
}
