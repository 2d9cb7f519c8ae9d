using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DataStack.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace DataStack.AppHost.Tests.Deployment;

/// <summary>
/// What the published manifest does once deployed as declared (<see cref="Rehearsal"/>): two Processing replicas with
/// no disk in common behind one address, and nothing added by hand. Uploads of CSV files and DataFrames all land,
/// whichever replica receives them; a replica killed right after its 202 loses nothing; a postgres restart in the middle
/// of uploads leaves every dataset whole. Each test leaves the deployment as it found it.
/// </summary>
public sealed class DeploymentRehearsalTests(Rehearsal rehearsal, ITestOutputHelper output) : IClassFixture<Rehearsal>
{
    private static TimeSpan TestTimeout { get; } = TimeSpan.FromMinutes(5);

    [DockerFact]
    public async Task EveryUploadThroughTheLoadBalancerLandsWhicheverReplicaReceivesIt()
    {
        // Arrange
        rehearsal.Require();
        using var cts = new CancellationTokenSource(TestTimeout);
        using var http = rehearsal.CreateClient();
        var csvNames = Enumerable.Range(0, 8).Select(i => Name($"csv{i}")).ToList();
        var frameNames = Enumerable.Range(0, 4).Select(i => Name($"frame{i}")).ToList();

        // Act: CSV bodies one by one (round robin alternates the replicas), DataFrames through the datastack package.
        var accepted = new List<(string Name, Guid Job, string? ServedBy)>();
        foreach (var name in csvNames)
        {
            using var response = await PutCsvAsync(http, name, rows: 2_000, cts.Token);
            accepted.Add((name, JobsApi.IdOf(await JobsApi.AcceptedAsync(response, cts.Token)), Rehearsal.ServedBy(response)));
        }

        var frames = await Task.WhenAll(frameNames.Select(name => RunClientAsync(["upload", name, "5000"], cts.Token)));
        var csvJobs = new List<JsonElement>();
        foreach (var (_, job, _) in accepted)
        {
            csvJobs.Add(await WaitAsync(http, job, cts.Token));
        }

        // Assert
        Assert.All(csvJobs, job => Assert.Equal("succeeded", job.GetProperty("status").GetString()));
        Assert.Equal([.. rehearsal.ReplicaNames.Order()], accepted.Select(a => a.ServedBy ?? "(none)").Distinct().Order().ToArray());
        foreach (var name in csvNames)
        {
            Assert.Equal(2_000L, await CountAsync(name, cts.Token));
        }

        Assert.All(frames, frame => Assert.Equal(5_000, frame.GetProperty("rows").GetInt64()));
        foreach (var name in frameNames)
        {
            Assert.Equal(5_000L, await CountAsync(name, cts.Token));
        }

        output.WriteLine($"CSV uploads served by: {string.Join(", ", accepted.Select(a => a.ServedBy))}");
    }

    [DockerFact]
    public async Task AReplicaKilledRightAfterAnswering202LosesNothing()
    {
        // Arrange
        rehearsal.Require();
        using var cts = new CancellationTokenSource(TestTimeout);
        using var http = rehearsal.CreateClient();
        var csv = Name("killed_csv");
        var frame = Name("killed_frame");

        // Act: a CSV upload, then a DataFrame's; each time the replica that answered 202 is killed at once (SIGKILL),
        // and started again once the job has ended.
        Guid csvJob;
        string csvReceiver;
        using (var response = await PutCsvAsync(http, csv, rows: 100_000, cts.Token))
        {
            csvJob = JobsApi.IdOf(await JobsApi.AcceptedAsync(response, cts.Token));
            csvReceiver = Rehearsal.ServedBy(response) ?? throw new InvalidOperationException("The load balancer did not say which replica answered.");
            await rehearsal.KillReplicaAsync(csvReceiver, cts.Token);
        }

        var csvResult = await WaitAsync(http, csvJob, cts.Token);
        await rehearsal.StartReplicaAgainAsync(csvReceiver, cts.Token);

        var put = await RunClientAsync(["put", frame, "100000"], cts.Token);
        var frameReceiver = put.GetProperty("servedBy").GetString()!;
        await rehearsal.KillReplicaAsync(frameReceiver, cts.Token);
        var frameResult = await WaitAsync(http, Guid.Parse(put.GetProperty("id").GetString()!), cts.Token);
        await rehearsal.StartReplicaAgainAsync(frameReceiver, cts.Token);

        // Assert: both jobs ended on a replica that did not receive the body, with every row.
        Assert.True(csvResult.GetProperty("status").GetString() == "succeeded", $"The CSV upload was lost: {csvResult}\n{await rehearsal.DescribeAsync(cts.Token)}");
        Assert.True(frameResult.GetProperty("status").GetString() == "succeeded", $"The DataFrame upload was lost: {frameResult}\n{await rehearsal.DescribeAsync(cts.Token)}");
        Assert.Equal(100_000L, await CountAsync(csv, cts.Token));
        Assert.Equal(100_000L, await CountAsync(frame, cts.Token));
        output.WriteLine($"killed {csvReceiver} after the CSV's 202 and {frameReceiver} after the DataFrame's; attempts {csvResult.GetProperty("attempts")} and {frameResult.GetProperty("attempts")}");
    }

    [DockerFact]
    public async Task APostgresRestartDuringUploadsLeavesEveryDatasetWhole()
    {
        // Arrange
        rehearsal.Require();
        using var cts = new CancellationTokenSource(TestTimeout);
        var names = Enumerable.Range(0, 3).Select(i => Name($"restart{i}")).ToList();
        const int rows = 300_000;

        // Act: uploads in flight (rows being copied) when postgres restarts; the package sends an interrupted one again.
        var uploads = names.Select(name => RunClientAsync(["upload", name, rows.ToString(CultureInfo.InvariantCulture)], cts.Token)).ToList();
        await WaitUntilCopyingAsync(uploads, cts.Token);
        await rehearsal.RestartPostgresAsync(cts.Token);
        var results = await Task.WhenAll(uploads);

        // Assert: the restart hit an upload (the package had to send something again); every dataset is whole (no
        // partial table, nothing set aside), and every replica still runs.
        Assert.True(results.Sum(result => result.GetProperty("repeated").GetInt32()) > 0, $"No upload was interrupted, so this checked nothing: {string.Join("; ", results)}");
        Assert.All(results, result => Assert.Equal(rows, result.GetProperty("rows").GetInt64()));
        foreach (var name in names)
        {
            Assert.Equal((long)rows, await CountAsync(name, cts.Token));
        }

        Assert.Equal(0L, await Sql.ScalarAsync<long>(
            rehearsal.AnalyticsConnectionString,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'datasets' AND c.relname LIKE 'upload-%'"));
        foreach (var replica in rehearsal.ReplicaNames)
        {
            Assert.True(await rehearsal.Sandbox.IsRunningAsync(replica, cts.Token), $"{replica} stopped when postgres restarted.\n{await rehearsal.DescribeAsync(cts.Token)}");
        }

        output.WriteLine($"calls made again by the package: {string.Join(", ", results.Select(r => r.GetProperty("repeated").GetInt32()))}");
    }

    [DockerFact]
    public async Task TheDeployImageStopsWithOneLineAndExitCode78WhenTheDatabaseRefusesItsCredentials()
    {
        // Arrange: the deployment's own environment for processing, with a password the server does not know.
        rehearsal.Require();
        using var cts = new CancellationTokenSource(TestTimeout);
        var environment = new Dictionary<string, string>(rehearsal.Manifest.Environment("processing"));
        var wrongPassword = Guid.NewGuid().ToString("N");
        environment["ConnectionStrings__analytics"] = new NpgsqlConnectionStringBuilder(environment["ConnectionStrings__analytics"]) { Password = wrongPassword }.ConnectionString;

        // Act
        var run = await rehearsal.Sandbox.RunToEndAsync("refused", Rehearsal.ProcessingImage, environment, cts.Token);

        // Assert
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(run.ExitCode == 78, $"exit code {run.ExitCode}:\n{run.Output}\n{run.Error}");
        Assert.Single(lines);
        Assert.Contains("ConnectionStrings__analytics", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Output + run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongPassword, run.Output + run.Error, StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task NoGeneratedSecretAppearsInTheManifestOrInAnyContainersOutput()
    {
        // Arrange
        rehearsal.Require();
        using var cts = new CancellationTokenSource(TestTimeout);

        // Act
        var logs = await rehearsal.DescribeAsync(cts.Token);

        // Assert
        Assert.NotEmpty(rehearsal.Manifest.Secrets);
        foreach (var secret in rehearsal.Manifest.Secrets)
        {
            Assert.DoesNotContain(secret, rehearsal.ManifestText, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }

    [DockerFact]
    public async Task APipelineRunsOnADeployedRunnerBuiltFromTheManifestAsAJobSubmittedThroughTheLoadBalancer()
    {
        // Arrange: the sample trips, uploaded as a user would.
        rehearsal.Require();
        using var cts = new CancellationTokenSource(TestTimeout);
        using var http = rehearsal.CreateClient();
        var trips = Name("trips");
        var summary = Name("zone_summary");
        var sample = Path.Combine(Projects.AppHost.ProjectPath, "..", "data", "samples", "trips.csv");
        using (var content = new StreamContent(File.OpenRead(sample)))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            using var upload = await http.PutAsync($"/datasets/{trips}?mode=replace", content, cts.Token);
            Assert.Equal("succeeded", (await WaitAsync(http, JobsApi.IdOf(await JobsApi.AcceptedAsync(upload, cts.Token)), cts.Token)).GetProperty("status").GetString());
        }

        // Act: the pipeline, as client.run("pipelines.daily:summary", ...) submits it.
        using var submitted = await http.PostAsJsonAsync(
            "/jobs",
            new { kind = "python", args = new { entrypoint = "pipelines.daily:summary", parameters = new { day = "2024-01-05", source = trips, target = summary } } },
            cts.Token);
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync(cts.Token));
        var job = await WaitAsync(http, JobsApi.IdOf(await JobsApi.AcceptedAsync(submitted, cts.Token)), cts.Token);

        // Assert: it ran on a runner (python jobs go to runners only), read and wrote through the deployment's wiring.
        Assert.True(job.GetProperty("status").GetString() == "succeeded", $"{job}\n{await rehearsal.DescribeAsync(cts.Token)}");
        var result = job.GetProperty("result");
        var dayTrips = await Sql.ScalarAsync<long>(
            rehearsal.AnalyticsConnectionString, $"SELECT count(*) FROM datasets.\"{trips}\" WHERE pickup_at >= '2024-01-05' AND pickup_at < '2024-01-06'");
        var zones = await Sql.ScalarAsync<long>(
            rehearsal.AnalyticsConnectionString, $"SELECT count(DISTINCT coalesce(zone, '(none)')) FROM datasets.\"{trips}\" WHERE pickup_at >= '2024-01-05' AND pickup_at < '2024-01-06'");
        Assert.Equal(dayTrips, result.GetProperty("trips").GetInt64());
        Assert.Equal(zones, await CountAsync(summary, cts.Token));
    }

    [DockerFact]
    public async Task TheRunnerImageRunsAsANonRootUser()
    {
        // Arrange
        rehearsal.Require();
        using var cts = new CancellationTokenSource(TestTimeout);

        // Act
        var user = await DockerSandbox.InspectImageAsync(rehearsal.RunnerImage, "{{.Config.User}}", cts.Token);

        // Assert
        Assert.False(string.IsNullOrWhiteSpace(user) || user.Split(':')[0] is "0" or "root", $"The runner image runs as '{user}'.");
    }

    private static string Name(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static async Task<HttpResponseMessage> PutCsvAsync(HttpClient http, string name, int rows, CancellationToken cancellationToken)
    {
        var csv = new StringBuilder("id,name,score\n");
        for (var i = 0; i < rows; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},\"row, {i}\",{i * 0.5}\n");
        }

        using var content = new StringContent(csv.ToString());
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        var response = await http.PutAsync($"/datasets/{name}?mode=replace", content, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            Assert.Fail($"PUT /datasets/{name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }

        return response;
    }

    /// <summary>Waits (server side) through the load balancer until the job has ended.</summary>
    private async Task<JsonElement> WaitAsync(HttpClient http, Guid job, CancellationToken cancellationToken)
    {
        try
        {
            return await JobsApi.WaitForEndAsync(http, job, TimeSpan.FromMinutes(2), cancellationToken);
        }
        catch (TimeoutException ex)
        {
            Assert.Fail($"{ex.Message}\n{await rehearsal.DescribeAsync(cancellationToken)}");
            throw;
        }
    }

    /// <summary>Polls until one of the uploads is copying rows in postgres (or all of them have already ended).</summary>
    private async Task WaitUntilCopyingAsync(IReadOnlyList<Task<JsonElement>> uploads, CancellationToken cancellationToken)
    {
        while (!uploads.All(upload => upload.IsCompleted))
        {
            if (await Sql.ScalarAsync<long>(rehearsal.AnalyticsConnectionString, "SELECT count(*) FROM pg_stat_progress_copy WHERE tuples_processed > 0") > 0)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }

        Assert.Fail($"The uploads ended before any of them was seen copying: {string.Join("; ", uploads.Select(u => u.Exception?.Message ?? "succeeded"))}");
    }

    private async Task<long> CountAsync(string dataset, CancellationToken cancellationToken)
    {
        var rows = await Sql.ScalarAsync<long>(rehearsal.AnalyticsConnectionString, $"SELECT count(*) FROM datasets.\"{dataset}\"");
        var catalog = await Sql.ScalarAsync<long>(rehearsal.AnalyticsConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = $1", dataset);
        Assert.Equal(rows, catalog);
        return rows;
    }

    /// <summary>Runs <c>rehearsal_client.py</c> (the datastack package from this repository) against the deployment's address.</summary>
    private async Task<JsonElement> RunClientAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var repository = Path.GetFullPath(Path.Combine(Projects.AppHost.ProjectPath, ".."));
        var printed = await CommandLine.RunAsync(
            Environment.GetEnvironmentVariable("DATASTACK_PYTHON") ?? "/usr/bin/python3",
            [Path.Combine(repository, "tests", "AppHost.Tests", "Deployment", "rehearsal_client.py"), .. arguments],
            TimeSpan.FromMinutes(4),
            cancellationToken,
            environment: new Dictionary<string, string>
            {
                ["PYTHONPATH"] = Path.Combine(repository, "Jupyter", "datastack", "src"),
                ["PROCESSING_HTTP"] = rehearsal.Address.ToString(),
                ["DATASTACK_API_KEY"] = rehearsal.ApiKey,
            });
        return JsonDocument.Parse(printed.Split('\n')[^1]).RootElement.Clone();
    }
}
