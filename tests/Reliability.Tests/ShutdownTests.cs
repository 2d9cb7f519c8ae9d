using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;

namespace DataStack.Reliability.Tests;

/// <summary>SIGTERM drains: short jobs finish, long ones go back to the queue for another replica.</summary>
public sealed class ShutdownTests(ITestOutputHelper output)
{
    private const int GraceSeconds = 6;

    [Fact]
    public async Task SigtermFinishesShortJobsAndReturnsLongOnesToAnotherReplica()
    {
        // Arrange: one replica runs everything; short jobs fit in the grace period, long ones do not.
        await using var set = await ReplicaSet.CreateAsync(environment: new Dictionary<string, string>
        {
            ["Processing__LeaseSeconds"] = "30",
            ["Processing__WorkerConcurrency"] = "8",
            ["Processing__ShutdownGraceSeconds"] = GraceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var setup = System.Diagnostics.Stopwatch.StartNew();
        var first = await set.StartReplicaAsync();
        output.WriteLine($"first replica healthy in {setup.Elapsed.TotalSeconds:F1}s");
        using var client = first.CreateClient();
        var longJobs = new List<Guid>();
        var shortJobs = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            longJobs.Add((await Api.SubmitNoopAsync(client, durationMs: 10_000)).Id);
        }

        await WaitUntilRunningAsync(set, longJobs);
        for (var i = 0; i < 4; i++)
        {
            shortJobs.Add((await Api.SubmitNoopAsync(client, durationMs: 3000)).Id);
        }

        await WaitUntilRunningAsync(set, shortJobs);
        var all = shortJobs.Concat(longJobs).ToArray();
        output.WriteLine($"all jobs running at {setup.Elapsed.TotalSeconds:F1}s");

        // Act: SIGTERM the first replica, and bring up a second one while it drains.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        first.Terminate();
        var second = set.StartReplicaAsync();
        using (var exitDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(GraceSeconds + 15)))
        {
            await first.WaitForExitAsync(exitDeadline.Token);
        }

        var exitedAfter = stopwatch.Elapsed;
        var atExit = await Db.JobsAsync(set.ConnectionString, all);
        var successor = await second;
        output.WriteLine($"second replica healthy {stopwatch.Elapsed.TotalSeconds:F1}s after SIGTERM");
        var final = await Poll.UntilAsync(
            () => Db.JobsAsync(set.ConnectionString, all),
            jobs => jobs.All(j => j.IsTerminal),
            TimeSpan.FromSeconds(60),
            "the returned jobs have run on the second replica",
            () => set.DescribeReplicas());
        output.WriteLine($"first replica exited {exitedAfter.TotalSeconds:F1}s after SIGTERM (grace {GraceSeconds}s); all jobs ended {stopwatch.Elapsed.TotalSeconds:F1}s after it");

        // Assert
        Assert.Equal(0, first.ExitCode);
        Assert.All(atExit.Where(j => shortJobs.Contains(j.Id)), job => Assert.Equal("succeeded", job.Status));
        Assert.All(atExit.Where(j => longJobs.Contains(j.Id)), job =>
        {
            // Returned to the queue with the interrupted attempt not counted; perhaps already claimed again.
            Assert.True(job.Status is "queued" or "running", $"long job {job.Id} was not returned: {job}");
            Assert.True(job.Status == "queued" ? job.Attempts == 0 : set.OwnerOf(job.LeaseOwner) == successor, $"{job}");
        });
        Assert.All(final, job => Assert.Equal("succeeded", job.Status));
        Assert.All(final.Where(j => longJobs.Contains(j.Id)), job => Assert.Equal(1, job.Attempts));
        Assert.All(final.Where(j => shortJobs.Contains(j.Id)), job => Assert.Equal(1, job.Attempts));
    }

    private static Task WaitUntilRunningAsync(ReplicaSet set, IReadOnlyCollection<Guid> ids) =>
        Poll.UntilAsync(
            async () => (await Db.JobsAsync(set.ConnectionString, ids)).All(j => j.Status == "running"),
            TimeSpan.FromSeconds(30),
            "the jobs run on the first replica",
            () => set.DescribeReplicas());
}
