using System.Net;
using System.Net.Http.Json;
using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;

namespace DataStack.Reliability.Tests;

/// <summary>PostgreSQL restarts under a running replica: it says so on /health, recovers on its own, and retries what was in flight.</summary>
public sealed class DatabaseRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServiceReportsUnhealthyWhileTheDatabaseIsDownAndResumesWithoutHelp()
    {
        // Arrange: a private server we can stop; jobs running and queued when it goes.
        var setup = System.Diagnostics.Stopwatch.StartNew();
        await using var server = await PostgresServer.StartAsync();
        await using var set = await ReplicaSet.CreateAsync(server, new Dictionary<string, string>
        {
            ["Processing__LeaseSeconds"] = "3",
            ["Processing__WorkerConcurrency"] = "4",
            ["Processing__MaxAttempts"] = "3",
        });
        output.WriteLine($"server and database ready in {setup.Elapsed.TotalSeconds:F1}s");
        var replica = await set.StartReplicaAsync();
        output.WriteLine($"replica healthy at {setup.Elapsed.TotalSeconds:F1}s");
        using var client = replica.CreateClient();
        using var probe = new HttpClient { BaseAddress = replica.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var inFlight = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            inFlight.Add((await Api.SubmitNoopAsync(client, durationMs: 1500)).Id);
        }

        for (var i = 0; i < 8; i++)
        {
            inFlight.Add((await Api.SubmitNoopAsync(client, durationMs: 200)).Id);
        }

        await Poll.UntilAsync(
            async () => (await Db.JobsAsync(set.ConnectionString, inFlight)).Count(j => j.Status == "running") == 4,
            TimeSpan.FromSeconds(30),
            "four jobs are running",
            () => set.DescribeReplicas());

        output.WriteLine($"jobs running at {setup.Elapsed.TotalSeconds:F1}s");

        // Act
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await server.StopAsync();
        var whileDown = await Poll.UntilAsync(
            () => HealthAsync(probe),
            status => status == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(30),
            "/health reports the database down",
            () => set.DescribeReplicas());

        // Stay down until the running jobs have ended without being able to record it: their leases lapse,
        // so they must be retried once the database is back.
        await Poll.UntilAsync(
            () => Task.FromResult(replica.Output.Contains("Could not record a job outcome", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30),
            "a job ends while the database is down",
            () => set.DescribeReplicas());
        var stillDown = await HealthAsync(probe);
        HttpStatusCode apiWhileDown;
        using (var jobs = await client.GetAsync("/jobs?limit=1"))
        {
            apiWhileDown = jobs.StatusCode;
        }

        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1}s: database down, /health {(int)whileDown}; starting it again");
        await server.StartServerAsync();
        await Poll.UntilAsync(
            () => HealthAsync(probe),
            status => status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(60),
            "/health recovers after the restart",
            () => set.DescribeReplicas());
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1}s: /health 200 again");
        var after = await Api.WaitAsync(client, (await Api.SubmitNoopAsync(client, durationMs: 10)).Id, timeoutSeconds: 60);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1}s: a new job ran");
        var final = await Poll.UntilAsync(
            () => Db.JobsAsync(set.ConnectionString, inFlight),
            jobs => jobs.All(j => j.IsTerminal),
            TimeSpan.FromSeconds(90),
            "the jobs in flight during the restart have ended",
            () => set.DescribeReplicas());

        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1}s: the jobs in flight have ended");

        // Assert
        Assert.Equal(HttpStatusCode.ServiceUnavailable, whileDown);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, stillDown);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, apiWhileDown); // retryable, not a 500
        Assert.Equal("succeeded", after.Status);
        Assert.False(replica.HasExited, "the replica exited:\n" + replica.Output);
        Assert.All(final, job =>
        {
            Assert.True(job.Status == "succeeded", $"job {job.Id} should succeed after the restart: {job}\n{set.DescribeReplicas()}");
            Assert.InRange(job.Attempts, 1, 3);
        });
        Assert.Contains(final, job => job.Attempts >= 2);
        output.WriteLine($"attempts of the jobs in flight: {string.Join(", ", final.Select(j => j.Attempts))}");
    }

    [Fact]
    public async Task AnIngestCopyingWhenTheDatabaseRestartsIsRetriedAndLandsWhole()
    {
        // Arrange: a private server we can stop, a first version of the dataset, a large second one uploaded.
        const int largeRows = 1_500_000;
        await using var server = await PostgresServer.StartAsync();
        await using var set = await ReplicaSet.CreateAsync(server, new Dictionary<string, string>
        {
            ["Processing__LeaseSeconds"] = "3",
            ["Processing__MaxAttempts"] = "3",
        });
        var replica = await set.StartReplicaAsync();
        using var client = replica.CreateClient();
        var files = Directory.CreateTempSubdirectory("datastack-csv-").FullName;
        try
        {
            await CsvFiles.UploadVersionAsync(client, "restart_target", 1000, files);

            // A file of the data folder: its rows are copied by the job (an upload's, by its request).
            WireJob queued;
            var large = await CsvFiles.WriteTypedAsync(largeRows, set.DataDir);
            using (var response = await CsvFiles.IngestFileAsync(client, "restart_target", Path.GetFileName(large)))
            {
                await Api.EnsureSuccessAsync(response, "POST /datasets/restart_target/ingest");
                queued = (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!;
            }

            // Well inside the COPY (at most two thirds of the rows in), so it cannot end before the stop below.
            await Db.WaitUntilCopyingAsync(set, "the ingest is copying rows", atMostRows: largeRows * 2 / 3);

            // Act: PostgreSQL goes away under the COPY (fast shutdown cuts the connection), then comes back.
            await server.StopAsync();
            output.WriteLine("database stopped during the COPY; starting it again");
            await server.StartServerAsync();
            var final = await Poll.UntilAsync(
                () => Db.JobsAsync(set.ConnectionString, [queued.Id]),
                jobs => jobs.Single().IsTerminal,
                TimeSpan.FromSeconds(120),
                "the interrupted ingest ends",
                () => set.DescribeReplicas());

            // Assert: retried within its budget, the new version whole, nothing half-made left behind.
            var job = final.Single();
            Assert.True(job.Status == "succeeded", $"the ingest should succeed once the database is back: {job}\n{set.DescribeReplicas()}");
            Assert.InRange(job.Attempts, 2, 3);
            Assert.Equal(largeRows, await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datasets.restart_target"));
            Assert.Equal(largeRows, await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = 'restart_target'"));
            Assert.Equal(["datasets.restart_target"], await Db.DatasetTablesAsync(set.ConnectionString));
            Assert.False(replica.HasExited, "the replica exited:\n" + replica.Output);
            output.WriteLine($"ingest succeeded after {job.Attempts} attempts");
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    [Fact]
    public async Task AnUploadCopyingWhenTheDatabaseRestartsIs503WithNothingHalfMadeAndLandsWhenSentAgain()
    {
        // Arrange: a private server we can stop, a first version of the dataset, a large second one to upload.
        const int largeRows = 1_500_000;
        await using var server = await PostgresServer.StartAsync();
        await using var set = await ReplicaSet.CreateAsync(server);
        var replica = await set.StartReplicaAsync();
        using var client = replica.CreateClient();
        var files = Directory.CreateTempSubdirectory("datastack-csv-").FullName;
        try
        {
            await CsvFiles.UploadVersionAsync(client, "restart_upload", 1000, files);

            var large = await CsvFiles.WriteTypedAsync(largeRows, files);

            // Act: PostgreSQL goes away while the upload's request copies its rows, and comes back.
            HttpStatusCode interrupted;
            string? retryAfter;
            await using (var body = File.OpenRead(large))
            {
                var upload = CsvFiles.UploadAsync(client, "restart_upload", body);
                await Db.WaitUntilCopyingAsync(set, "the upload's rows are being copied", atMostRows: largeRows * 2 / 3);
                await server.StopAsync();
                using var response = await upload;
                interrupted = response.StatusCode;
                retryAfter = response.Headers.RetryAfter?.ToString();
            }

            await server.StartServerAsync();
            var versionAfterRestart = await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datasets.restart_upload");
            var jobsAfterRestart = await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datastack.jobs");
            WireJob again;
            await using (var body = File.OpenRead(large))
            using (var response = await CsvFiles.UploadAsync(client, "restart_upload", body))
            {
                await Api.EnsureSuccessAsync(response, "PUT /datasets/restart_upload (sent again)");
                again = await Api.WaitAsync(client, (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!.Id);
            }

            // Assert: refused as retryable, nothing queued or half-made; sent again, it lands whole.
            Assert.True(interrupted == HttpStatusCode.ServiceUnavailable, $"answered {interrupted}:\n{replica.Output}");
            Assert.Equal("5", retryAfter);
            Assert.Equal(1000L, versionAfterRestart);
            Assert.Equal(1L, jobsAfterRestart);
            Assert.Equal("succeeded", again.Status);
            Assert.Equal(largeRows, await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datasets.restart_upload"));
            Assert.Equal(["datasets.restart_upload"], await Db.DatasetTablesAsync(set.ConnectionString));
            Assert.False(replica.HasExited, "the replica exited:\n" + replica.Output);
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    private static async Task<HttpStatusCode> HealthAsync(HttpClient probe)
    {
        try
        {
            using var response = await probe.GetAsync("/health");
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }
}
