using System.Diagnostics;
using System.Net.Http.Json;
using DataStack.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// Failures under the orchestrator: the database container dies, a Processing replica dies mid-job.
/// </summary>
[Collection(StackCollection.Name)]
[StackOrder(StackOrderAttribute.Faults)]
public sealed class FaultTests(StackFixture stack)
{
    [DockerFact]
    public async Task KilledPostgresContainerMakesProcessingUnhealthyUntilRestartedAndLosesNoCommittedDataset()
    {
        // Arrange: a committed dataset.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        using var http = ProcessingApi.CreateClient(stack);
        var name = $"keep_{Guid.NewGuid():N}"[..20];
        using var csv = ProcessingApi.Csv("id,v\n1,a\n2,b\n3,c\n");
        using var upload = await http.PutAsync($"/datasets/{name}?mode=replace", csv, cts.Token);
        Assert.Equal("succeeded", await ProcessingApi.WaitForStatusAsync(http, await ProcessingApi.ReadJobIdAsync(upload, cts.Token), cts.Token));
        var postgresId = stack.GetResourceIds("postgres")[0];

        // Act: kill the container behind DCP's back, as a crash would.
        await CommandLine.RunAsync(ContainerRuntime.Executable, ["kill", await stack.GetContainerIdAsync("postgres", cts.Token)], TimeSpan.FromMinutes(1), cts.Token);
        await stack.App.ResourceNotifications.WaitForResourceAsync("processing", e => e.Snapshot.HealthStatus == HealthStatus.Unhealthy, cts.Token);
        var restart = await stack.App.ResourceCommands.ExecuteCommandAsync(postgresId, KnownResourceCommands.StartCommand, cts.Token);
        if (!restart.Success)
        {
            restart = await stack.App.ResourceCommands.ExecuteCommandAsync(postgresId, KnownResourceCommands.RestartCommand, cts.Token);
        }

        // Right after the command the resource may still show the killed container's end: wait through it, not stop at it
        // (the AppHost's default, StopOnResourceUnavailable, is for start-up).
        await stack.App.ResourceNotifications.WaitForResourceHealthyAsync("postgres", WaitBehavior.WaitOnResourceUnavailable, cts.Token);
        await stack.App.ResourceNotifications.WaitForResourceAsync("processing", e => e.Snapshot.HealthStatus == HealthStatus.Healthy, cts.Token);

        // Assert
        Assert.True(restart.Success, restart.Message);
        var analytics = await stack.GetAnalyticsAsync(cts.Token);
        Assert.Equal(3L, await Sql.ScalarAsync<long>(analytics, $"select count(*) from datasets.{name}"));
        using var rows = await http.GetAsync($"/datasets/{name}/rows", cts.Token);
        Assert.True(rows.IsSuccessStatusCode, $"GET rows answered {(int)rows.StatusCode} after the restart");
    }

    [DockerFact]
    public async Task JobsOfAKilledReplicaFinishOnTheOther()
    {
        // Arrange: long jobs, running on both replicas.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        using var http = ProcessingApi.CreateClient(stack);
        var analytics = await stack.GetAnalyticsAsync(cts.Token);
        var jobs = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            using var submit = await http.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { durationMs = 6000 } }, cts.Token);
            jobs.Add(await ProcessingApi.ReadJobIdAsync(submit, cts.Token));
        }

        var owners = await WaitForOwnersAsync(analytics, jobs, cts.Token);

        // Act: SIGKILL the replica that holds the first of them.
        var victim = int.Parse(owners[0].Split('/')[1], System.Globalization.CultureInfo.InvariantCulture);
        using (var process = Process.GetProcessById(victim))
        {
            process.Kill();
        }

        var states = new List<string>();
        foreach (var job in jobs)
        {
            states.Add(await ProcessingApi.WaitForStatusAsync(http, job, cts.Token));
        }

        // The dashboard shows the dead replica as ended; its Start command brings it back for the tests after this one.
        var start = await stack.StartAgainAsync("processing", cts.Token);

        // Assert
        Assert.All(states, state => Assert.Equal("succeeded", state));
        Assert.True(start.Success, start.Message);
        Assert.True(await Sql.ScalarAsync<long>(analytics, "select count(*) from datastack.jobs where id::text = any($1) and attempts > 1", [jobs.ToArray()]) > 0,
            "no job was taken over from the killed replica");
    }

    /// <summary>The lease owners (host/pid/worker) of the jobs while at least two replicas run them.</summary>
    private static async Task<List<string>> WaitForOwnersAsync(string analytics, List<string> jobs, CancellationToken cancellationToken)
    {
        while (true)
        {
            var rows = await Sql.RowsAsync(analytics, "select distinct lease_owner from datastack.jobs where id::text = any($1) and status = 'running'", [jobs.ToArray()]);
            var owners = rows.Select(row => (string)row[0]!).ToList();
            if (owners.Select(owner => owner.Split('/')[1]).Distinct().Count() >= 2)
            {
                return owners;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }
}
