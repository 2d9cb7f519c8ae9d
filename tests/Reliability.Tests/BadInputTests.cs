using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using DataStack.Reliability.Tests.Infrastructure;

namespace DataStack.Reliability.Tests;

/// <summary>
/// Hostile CSV ends as a failed job with a reason or a 4xx ProblemDetails: never a crash, never a hang.
/// The inputs come from a seeded generator; the seed is printed (rerun it with <c>DATASTACK_FUZZ_SEED</c>).
/// </summary>
public sealed class BadInputTests(ITestOutputHelper output)
{
    private const int FuzzCases = 60;
    private const long UploadLimit = 64L * 1024 * 1024;

    [Fact]
    public async Task FuzzedCsvEndsAsAFailedJobOr4xxAndTheServiceStaysHealthy()
    {
        // Arrange
        var seed = int.TryParse(Environment.GetEnvironmentVariable("DATASTACK_FUZZ_SEED"), CultureInfo.InvariantCulture, out var fixedSeed)
            ? fixedSeed
            : Environment.TickCount;
        output.WriteLine($"seed {seed} (rerun with DATASTACK_FUZZ_SEED={seed})");
        var fuzzer = new CsvFuzzer(new Random(seed));
        var inputs = Enumerable.Range(0, FuzzCases).Select(fuzzer.Generate).ToArray();
        await using var set = await ReplicaSet.CreateAsync(environment: new Dictionary<string, string>
        {
            ["Processing__MaxUploadBytes"] = UploadLimit.ToString(CultureInfo.InvariantCulture),
        });
        var replica = await set.StartReplicaAsync();
        using var client = replica.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(120);

        // Act
        var outcomes = new string[FuzzCases];
        var problems = new List<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, FuzzCases), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var (outcome, problem) = await UploadAndJudgeAsync(client, $"fuzz_{i}", inputs[i]);
            outcomes[i] = $"{CsvFuzzer.KindOf(i)}: {outcome}";
            if (problem is not null)
            {
                lock (problems)
                {
                    problems.Add($"case {i} ({CsvFuzzer.KindOf(i)}, {inputs[i].Length} bytes): {problem}");
                }
            }
        });

        // Assert
        foreach (var group in outcomes.GroupBy(o => o).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{group.Count(),3} × {group.Key}");
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems) + "\n" + set.DescribeReplicas());
        Assert.All(outcomes.Where((_, i) => CsvFuzzer.KindOf(i) == "valid"), o => Assert.EndsWith("succeeded", o, StringComparison.Ordinal));
        await AssertHealthyAsync(replica);
    }

    [Fact]
    public async Task AHeaderOfAMillionColumnsAndA17MiBFieldFailWithTheirLimits()
    {
        // Arrange: both within the upload limit, both far beyond what the reader accepts.
        await using var set = await ReplicaSet.CreateAsync(environment: new Dictionary<string, string>
        {
            ["Processing__MaxUploadBytes"] = UploadLimit.ToString(CultureInfo.InvariantCulture),
        });
        var replica = await set.StartReplicaAsync();
        using var client = replica.CreateClient();
        var wideHeader = new StringBuilder(8 << 20);
        for (var i = 0; i < 1_000_000; i++)
        {
            wideHeader.Append(i == 0 ? "c" : ",c").Append(i);
        }

        wideHeader.Append("\n1\n");
        var hugeField = "a,b\n1,\"" + new string('x', 17 << 20) + "\"\n";

        // Act
        var wide = await UploadAndWaitAsync(client, "wide_header", Encoding.UTF8.GetBytes(wideHeader.ToString()));
        var huge = await UploadAndWaitAsync(client, "huge_field", Encoding.UTF8.GetBytes(hugeField));

        // Assert
        output.WriteLine($"1M columns: {wide.Error?.Code}: {wide.Error?.Message}");
        output.WriteLine($"17 MiB field: {huge.Error?.Code}: {huge.Error?.Message}");
        Assert.Equal("failed", wide.Status);
        Assert.Equal("too_many_columns", wide.Error?.Code);
        Assert.Equal(1601, wide.Error?.Column);
        Assert.Equal("failed", huge.Status);
        Assert.Equal("field_too_large", huge.Error?.Code);
        Assert.Equal(2, huge.Error?.Column);
        await AssertHealthyAsync(replica);
    }

    /// <summary>Uploads one input and says what came of it, and what is wrong with that (null when acceptable).</summary>
    private static async Task<(string Outcome, string? Problem)> UploadAndJudgeAsync(HttpClient client, string dataset, byte[] csv)
    {
        try
        {
            using var response = await CsvFiles.UploadAsync(client, dataset, new MemoryStream(csv));
            var status = (int)response.StatusCode;
            if (status is >= 400 and < 500)
            {
                return response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                    ? ($"{status}", null)
                    : ($"{status}", $"{status} without ProblemDetails");
            }

            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                return ($"{status}", $"answered {status}: {await response.Content.ReadAsStringAsync()}");
            }

            var queued = (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!;
            var job = await Api.WaitAsync(client, queued.Id, timeoutSeconds: 60);
            return job.Status switch
            {
                "succeeded" => ("succeeded", null),
                "failed" when !string.IsNullOrWhiteSpace(job.Error?.Code) && !string.IsNullOrWhiteSpace(job.Error.Message)
                    && job.Error.Code is not ("internal" or "transient") && job.Attempts == 1
                    => ($"failed {job.Error.Code}", null),
                _ => ($"{job.Status}", $"job ended {job.Status} after {job.Attempts} attempts: {job.Error}"),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return ("exception", ex.ToString());
        }
    }

    private static async Task<WireJob> UploadAndWaitAsync(HttpClient client, string dataset, byte[] csv)
    {
        using var response = await CsvFiles.UploadAsync(client, dataset, new MemoryStream(csv));
        await Api.EnsureSuccessAsync(response, $"PUT /datasets/{dataset}");
        var queued = (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!;
        return await Api.WaitAsync(client, queued.Id, timeoutSeconds: 120);
    }

    private static async Task AssertHealthyAsync(DataStack.Testing.ProcessingProcess replica)
    {
        Assert.False(replica.HasExited, replica.Output);
        using var probe = new HttpClient { BaseAddress = replica.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var health = await probe.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
