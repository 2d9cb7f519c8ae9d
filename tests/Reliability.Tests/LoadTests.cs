using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;

namespace DataStack.Reliability.Tests;

/// <summary>
/// A bounded load on loopback against one real process: no request fails, and memory stays put from one
/// identical round to the next. Throughput and latency are printed, never asserted (see docs/reliability.md).
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    private const int Clients = 16;
    private const int RequestsPerRound = 4000;
    private const long RssLimitBytes = 400L * 1024 * 1024;
    private const long RssGrowthLimitBytes = 48L * 1024 * 1024;

    [Fact]
    public async Task SixteenClientsSeeNoErrorsAndASecondRoundDoesNotGrowMemory()
    {
        // Arrange
        await using var set = await ReplicaSet.CreateAsync(environment: new Dictionary<string, string>
        {
            ["Processing__WorkerConcurrency"] = "4",
        });
        var replica = await set.StartReplicaAsync();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients })
        {
            BaseAddress = replica.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", replica.ApiKey);
        var csv = BuildCsv(rows: 50);

        // Act
        var first = await RunRoundAsync(client, csv, "first");
        var rssAfterFirst = ProcessMemory.ResidentBytes(replica.Pid);
        var second = await RunRoundAsync(client, csv, "second");
        var rssAfterSecond = ProcessMemory.ResidentBytes(replica.Pid);
        output.WriteLine($"RSS after round 1: {rssAfterFirst / 1048576.0:F0} MiB, after round 2: {rssAfterSecond / 1048576.0:F0} MiB");
        var queued = await Poll.UntilAsync(
            () => Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datastack.jobs WHERE status IN ('queued', 'running')"),
            count => count == 0,
            TimeSpan.FromSeconds(120),
            "the queue drains after the load",
            () => set.DescribeReplicas());

        // Assert
        Assert.True(first.Errors.IsEmpty, "errors in round 1:\n" + string.Join('\n', first.Errors.Take(20)));
        Assert.True(second.Errors.IsEmpty, "errors in round 2:\n" + string.Join('\n', second.Errors.Take(20)));
        Assert.False(replica.HasExited, replica.Output);
        Assert.Equal(0, queued);
        Assert.True(rssAfterSecond < RssLimitBytes, $"RSS {rssAfterSecond / 1048576} MiB after the load (limit {RssLimitBytes / 1048576} MiB)");
        Assert.True(
            rssAfterSecond - rssAfterFirst < RssGrowthLimitBytes,
            $"RSS grew by {(rssAfterSecond - rssAfterFirst) / 1048576} MiB in an identical second round (limit {RssGrowthLimitBytes / 1048576} MiB)");
    }

    /// <summary>
    /// <see cref="RequestsPerRound"/> requests from <see cref="Clients"/> concurrent clients: per ten, three job
    /// submissions, three job reads, two dataset listings, one job listing and one upload.
    /// </summary>
    private async Task<RoundResult> RunRoundAsync(HttpClient client, string csv, string name)
    {
        var latencies = new double[RequestsPerRound];
        var errors = new ConcurrentQueue<string>();
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var mine = new List<Guid>();
            int i;
            while ((i = Interlocked.Increment(ref next)) < RequestsPerRound)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = (i % 10) switch
                    {
                        0 or 1 or 2 => await client.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { durationMs = 0 } }, Api.Json),
                        3 or 4 or 5 when mine.Count > 0 => await client.GetAsync($"/jobs/{mine[i % mine.Count]}"),
                        3 or 4 or 5 or 6 or 7 => await client.GetAsync("/datasets"),
                        8 => await client.GetAsync("/jobs?limit=20"),
                        _ => await client.PutAsync($"/datasets/load_{c}?mode=replace", new StringContent(csv, Encoding.UTF8, "text/csv")),
                    };
                    if (!response.IsSuccessStatusCode)
                    {
                        errors.Enqueue($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                    else if (i % 10 is 0 or 1 or 2 && await response.Content.ReadFromJsonAsync<WireJob>(Api.Json) is { } job)
                    {
                        mine.Add(job.Id);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    errors.Enqueue($"request {i}: {ex.GetType().Name}: {ex.Message}");
                }

                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })));
        clock.Stop();
        Array.Sort(latencies);
        var result = new RoundResult(
            RequestsPerRound / clock.Elapsed.TotalSeconds,
            latencies[RequestsPerRound / 2],
            latencies[(int)(RequestsPerRound * 0.99)],
            errors);
        output.WriteLine(
            $"round {name}: {RequestsPerRound} requests, {Clients} clients, {clock.Elapsed.TotalSeconds:F1}s, " +
            $"{result.RequestsPerSecond:F0} req/s, p50 {result.P50Ms:F1} ms, p99 {result.P99Ms:F1} ms, {errors.Count} errors");
        return result;
    }

    private static string BuildCsv(int rows)
    {
        var csv = new StringBuilder("id,name,score,seen\n");
        for (var i = 0; i < rows; i++)
        {
            csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i},name {i},{i * 0.5},2024-01-{(i % 28) + 1:D2}\n");
        }

        return csv.ToString();
    }

    private sealed record RoundResult(double RequestsPerSecond, double P50Ms, double P99Ms, ConcurrentQueue<string> Errors);
}
