using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;

namespace DataStack.Reliability.Tests;

/// <summary>A replica that dies (SIGKILL) loses no job, and concurrent clients never create a job twice.</summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int JobCount = 200;
    private const int LongJobMs = 4000;

    private static readonly Dictionary<string, string> s_fastLeases = new()
    {
        // A short lease so the reaper takes a dead replica's jobs back within seconds.
        ["Processing__LeaseSeconds"] = "3",
        ["Processing__WorkerConcurrency"] = "8",
        ["Processing__MaxAttempts"] = "3",
    };

    [Fact]
    public async Task KilledReplicaLosesNoJobAndLeavesNoneRunning()
    {
        // Arrange
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var set = await ReplicaSet.CreateAsync(environment: s_fastLeases);
        var replicas = await set.StartReplicasAsync(3);
        var clients = replicas.Select(r => r.CreateClient()).ToArray();

        // Every 20th job is long (so replicas hold running jobs when one dies), every 25th asks to fail.
        var plan = Enumerable.Range(0, JobCount)
            .Select(i => (DurationMs: i % 20 == 0 ? LongJobMs : random.Next(1, 40), Fail: i % 25 == 7))
            .ToArray();
        var submitted = new ConcurrentDictionary<Guid, (int DurationMs, bool Fail)>();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, JobCount),
            new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) =>
            {
                var job = await Api.SubmitNoopAsync(clients[i % clients.Length], plan[i].DurationMs, plan[i].Fail);
                submitted[job.Id] = plan[i];
            });
        var ids = submitted.Keys.ToArray();

        // Act: once a replica holds a running long job, kill (SIGKILL) the one holding the most of them.
        var running = await Poll.UntilAsync(
            () => RunningLongJobOwnersAsync(set.ConnectionString, ids),
            owners => owners.Count > 0,
            TimeSpan.FromSeconds(30),
            "a replica holds a running long job",
            () => set.DescribeReplicas());
        var victim = set.OwnerOf(running.MaxBy(o => o.Value).Key)!;
        await victim.KillAsync();
        var held = (await Db.JobsAsync(set.ConnectionString, ids))
            .Where(j => j.Status == "running" && set.OwnerOf(j.LeaseOwner) == victim)
            .Select(j => j.Id)
            .ToHashSet();
        output.WriteLine($"killed pid {victim.Pid} holding {held.Count} running jobs");

        var final = await Poll.UntilAsync(
            () => Db.JobsAsync(set.ConnectionString, ids),
            jobs => jobs.All(j => j.IsTerminal),
            TimeSpan.FromSeconds(90),
            "every job has ended",
            () => set.DescribeReplicas());

        // Assert
        Assert.NotEmpty(held);
        Assert.Equal(JobCount, final.Count);
        Assert.Equal(JobCount, await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datastack.jobs"));
        foreach (var job in final)
        {
            var (_, fail) = submitted[job.Id];
            if (fail)
            {
                Assert.True(job.Status == "failed" && job.ErrorCode == "noop_failed", $"job {job.Id} should fail with its reason: {job}");
            }
            else
            {
                Assert.True(job.Status == "succeeded", $"job {job.Id} should succeed: {job}");
            }

            Assert.InRange(job.Attempts, 1, 3);
            Assert.Null(job.LeaseOwner);
        }

        // The dead replica's jobs were taken back and run again elsewhere.
        Assert.All(final.Where(j => held.Contains(j.Id)), job => Assert.True(job.Attempts >= 2, $"job {job.Id} was not retried: {job}"));
    }

    [Fact]
    public async Task ConcurrentSubmissionsWithOneIdempotencyKeyCreateOneJob()
    {
        // Arrange
        const int KeyCount = 25;
        const int ClientsPerReplica = 8;
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var set = await ReplicaSet.CreateAsync(environment: s_fastLeases);
        var replicas = await set.StartReplicasAsync(3);
        var clients = replicas.SelectMany(r => Enumerable.Range(0, ClientsPerReplica).Select(_ => r.CreateClient())).ToArray();
        var prefix = $"idem-{Guid.NewGuid():N}-";
        var keys = Enumerable.Range(0, KeyCount).Select(i => prefix + i).ToArray();
        var answers = new ConcurrentBag<(string Key, HttpStatusCode Status, Guid JobId)>();

        // Act: every client submits every key, each in its own (seeded) order, all at once.
        await Task.WhenAll(clients.Select(async (client, c) =>
        {
            foreach (var key in keys.OrderBy(_ => new Random(seed + c).Next()).ToArray())
            {
                using var response = await client.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { durationMs = 1 }, idempotencyKey = key }, Api.Json);
                await Api.EnsureSuccessAsync(response, "POST /jobs");
                var job = await response.Content.ReadFromJsonAsync<WireJob>(Api.Json);
                answers.Add((key, response.StatusCode, job!.Id));
            }
        }));

        // Assert
        var counts = await Sql.RowsAsync(
            set.ConnectionString,
            "SELECT idempotency_key, count(*) FROM datastack.jobs WHERE idempotency_key LIKE $1 || '%' GROUP BY 1",
            prefix);
        Assert.Equal(KeyCount, counts.Count);
        Assert.All(counts, row => Assert.Equal(1L, (long)row[1]!));
        Assert.Equal(clients.Length * KeyCount, answers.Count);
        foreach (var group in answers.GroupBy(a => a.Key))
        {
            Assert.Single(group.Select(a => a.JobId).Distinct());
            Assert.Single(group, a => a.Status == HttpStatusCode.Accepted);
        }
    }

    /// <summary>Running long jobs by lease owner.</summary>
    private static async Task<IReadOnlyDictionary<string, int>> RunningLongJobOwnersAsync(string connectionString, Guid[] ids)
    {
        var rows = await Sql.RowsAsync(
            connectionString,
            """
            SELECT lease_owner, count(*)::int FROM datastack.jobs
            WHERE id = ANY($1) AND status = 'running' AND (args->>'durationMs')::int = $2
            GROUP BY 1
            """,
            ids,
            LongJobMs);
        return rows.ToDictionary(r => (string)r[0]!, r => (int)r[1]!);
    }
}
