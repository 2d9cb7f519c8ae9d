using System.Net;
using System.Net.Http.Json;
using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;
using Npgsql;

namespace DataStack.Reliability.Tests;

/// <summary>
/// An upload is handed from its request to its job through PostgreSQL only: replicas with no data folder and no disk in
/// common land every upload they accept (202), whichever replica receives it and whichever dies.
/// </summary>
public sealed class UploadHandoffTests(ITestOutputHelper output)
{
    private const int Rows = 200_000;

    [Fact]
    public async Task AnUploadAcceptedByAReplicaKilledRightAfterIts202LandsWholeThroughAnother()
    {
        // Arrange: replicas with no data folder at all (a deployment's replicas share no disk), short leases.
        await using var set = await ReplicaSet.CreateAsync(environment: NoDataFolder(leaseSeconds: 3));
        var receiver = await set.StartReplicaAsync();
        using var client = receiver.CreateClient();
        var files = Directory.CreateTempSubdirectory("datastack-csv-").FullName;
        try
        {
            var csv = await CsvFiles.WriteTypedAsync(Rows, files);
            // Another ingest of the same dataset holds its lock, so the job cannot have ended before the kill.
            await using var holder = new NpgsqlConnection(set.ConnectionString);
            await holder.OpenAsync();
            await using var hold = await holder.BeginTransactionAsync();
            await using (var lockDataset = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('datastack.ingest:handoff_kill', 0))", holder))
            {
                await lockDataset.ExecuteNonQueryAsync();
            }

            // Act: the receiving replica dies (SIGKILL) right after its 202; another replica starts.
            WireJob accepted;
            await using (var body = File.OpenRead(csv))
            using (var response = await CsvFiles.UploadAsync(client, "handoff_kill", body))
            {
                await Api.EnsureSuccessAsync(response, "PUT /datasets/handoff_kill");
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                accepted = (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!;
            }

            await receiver.KillAsync();
            await hold.RollbackAsync();
            var survivor = await set.StartReplicaAsync();
            using var survivorClient = survivor.CreateClient();
            var final = await Api.WaitAsync(survivorClient, accepted.Id, timeoutSeconds: 120);

            // Assert: the whole upload landed, and nothing of it is left aside.
            Assert.True(final.Status == "succeeded", $"the accepted upload was lost: {final}\n{set.DescribeReplicas()}");
            Assert.Equal(Rows, await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datasets.handoff_kill"));
            Assert.Equal(Rows, await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = 'handoff_kill'"));
            Assert.Equal(["datasets.handoff_kill"], await Db.DatasetTablesAsync(set.ConnectionString));
            output.WriteLine($"job {final.Status} after {final.Attempts} attempt(s)");
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    [Fact]
    public async Task AReplicaKilledWhileItCopiesAnUploadLeavesNoJobAndThePreviousVersion()
    {
        // Arrange: a first version of the dataset, and a large second one to upload.
        await using var set = await ReplicaSet.CreateAsync(environment: NoDataFolder(leaseSeconds: 3));
        var receiver = await set.StartReplicaAsync();
        using var client = receiver.CreateClient();
        var files = Directory.CreateTempSubdirectory("datastack-csv-").FullName;
        try
        {
            await CsvFiles.UploadVersionAsync(client, "handoff_cut", 1000, files);

            var large = await CsvFiles.WriteTypedAsync(1_500_000, files);
            var jobsBefore = await JobsOfAsync(set);

            // Act: kill the replica while its request copies the rows (before any 202).
            await using var body = File.OpenRead(large);
            var upload = CsvFiles.UploadAsync(client, "handoff_cut", body);
            await Db.WaitUntilCopyingAsync(set, "the upload's rows are being copied");
            await receiver.KillAsync();
            var answer = await Record.ExceptionAsync(async () => (await upload).Dispose());
            // The server notices the dead connection and rolls back.
            await Poll.UntilAsync(
                async () => await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM pg_stat_progress_copy") == 0,
                TimeSpan.FromSeconds(30),
                "PostgreSQL ends the dead replica's COPY");

            // Assert: the client saw the request fail, nothing was queued, the first version is whole, nothing is aside.
            Assert.NotNull(answer);
            Assert.Equal(jobsBefore, await JobsOfAsync(set));
            Assert.Equal(1000L, await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datasets.handoff_cut"));
            Assert.Equal(["datasets.handoff_cut"], await Db.DatasetTablesAsync(set.ConnectionString));
            output.WriteLine($"the client saw: {answer.GetType().Name}: {answer.Message}");
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    private static Dictionary<string, string> NoDataFolder(int leaseSeconds) => new()
    {
        ["Processing__DataDir"] = Path.Combine(Path.GetTempPath(), $"datastack-no-data-{Guid.NewGuid():N}"),
        ["Processing__LeaseSeconds"] = leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task<long> JobsOfAsync(ReplicaSet set) =>
        await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datastack.jobs");
}
