using System.Net.Http.Json;
using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;

namespace DataStack.Reliability.Tests;

/// <summary>
/// A replica killed in the middle of an ingest leaves the previous version of the dataset, and nothing half-made; an
/// upload it accepted (202) lands through another replica, because its rows were handed over in PostgreSQL.
/// </summary>
public sealed class IngestCrashTests(ITestOutputHelper output)
{
    private const int PreviousRows = 1000;
    private const int LargeRows = 1_500_000;

    [Fact]
    public async Task KillMidIngestLeavesThePreviousVersionAndTheJobEndsOnAnotherReplica()
    {
        // Arrange: two replicas, a first version of the dataset, and a large second version to upload.
        await using var set = await ReplicaSet.CreateAsync(environment: new Dictionary<string, string>
        {
            ["Processing__LeaseSeconds"] = "3",
            ["Processing__MaxAttempts"] = "3",
        });
        var replicas = await set.StartReplicasAsync(2);
        using var client = replicas[0].CreateClient();
        var files = Directory.CreateTempSubdirectory("datastack-csv-").FullName;
        try
        {
            await CsvFiles.UploadVersionAsync(client, "crash_target", PreviousRows, files);

            var previous = await VersionAsync(set);
            // A file of the shared data folder: its rows are copied by the job (an upload's, by its request).
            var large = await CsvFiles.WriteTypedAsync(LargeRows, set.DataDir);
            output.WriteLine($"large file: {new FileInfo(large).Length / 1048576.0:F0} MiB, {LargeRows} rows");

            // Act: ingest it, wait until rows are being copied (COPY into the staging table), kill the replica copying them.
            WireJob queued;
            using (var response = await CsvFiles.IngestFileAsync(client, "crash_target", Path.GetFileName(large)))
            {
                await Api.EnsureSuccessAsync(response, "POST /datasets/crash_target/ingest");
                queued = (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!;
            }

            var owner = await Poll.UntilAsync(
                async () => (await Sql.RowsAsync(
                    set.ConnectionString,
                    // The COPY itself, as PostgreSQL sees it: progress is stored only once a second, and the
                    // copy of these rows may take about that long.
                    """
                    SELECT j.lease_owner FROM datastack.jobs j
                    WHERE j.id = $1 AND j.status = 'running' AND EXISTS (
                        SELECT 1 FROM pg_stat_activity a
                        WHERE a.datname = current_database() AND a.state = 'active' AND a.query LIKE 'COPY %FROM STDIN%')
                    """,
                    queued.Id)).Select(r => (string?)r[0]).FirstOrDefault(),
                leaseOwner => leaseOwner is not null,
                TimeSpan.FromSeconds(60),
                "the ingest is copying rows",
                () => set.DescribeReplicas());
            var victim = set.OwnerOf(owner)!;
            await victim.KillAsync();
            var atKill = (await Db.JobsAsync(set.ConnectionString, [queued.Id])).Single();
            var afterKill = await VersionAsync(set);
            var stagingAfterKill = await StagingTablesAsync(set);
            output.WriteLine($"killed pid {victim.Pid}; job {atKill.Status} after attempt {atKill.Attempts}");

            var survivor = replicas.Single(r => r != victim);
            using var survivorClient = survivor.CreateClient();
            var final = await Api.WaitAsync(survivorClient, queued.Id, timeoutSeconds: 180);
            var afterRetry = await VersionAsync(set);

            // Assert: at the kill, the previous version, whole, and no staging table.
            Assert.Equal("running", atKill.Status);
            Assert.Equal(previous, afterKill);
            Assert.Empty(stagingAfterKill);

            // Then the job ran again elsewhere: either the new version, whole, or a failure with a reason.
            if (final.Status == "succeeded")
            {
                Assert.Equal(LargeRows, afterRetry.TableRows);
                Assert.Equal(LargeRows, afterRetry.CatalogRows);
                Assert.NotEqual(previous.Checksum, afterRetry.Checksum);
            }
            else
            {
                Assert.Equal("failed", final.Status);
                Assert.False(string.IsNullOrEmpty(final.Error?.Code), $"no reason: {final}");
                Assert.Equal(previous, afterRetry);
            }

            Assert.True(final.Attempts >= 2, $"the job was not run again: {final}");
            Assert.Empty(await StagingTablesAsync(set));
            output.WriteLine($"job {final.Status} after {final.Attempts} attempts");
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    /// <summary>What the dataset is: catalog row count and checksum, and the rows its table really holds.</summary>
    private static async Task<DatasetVersion> VersionAsync(ReplicaSet set)
    {
        var catalog = (await Sql.RowsAsync(
            set.ConnectionString, "SELECT row_count, checksum FROM datastack.datasets WHERE name = 'crash_target'")).Single();
        var rows = await Sql.ScalarAsync<long>(set.ConnectionString, "SELECT count(*) FROM datasets.crash_target");
        return new DatasetVersion((long)catalog[0]!, (string?)catalog[1], rows);
    }

    private static async Task<IReadOnlyList<string>> StagingTablesAsync(ReplicaSet set) =>
        [.. (await Db.DatasetTablesAsync(set.ConnectionString)).Where(t => t != "datasets.crash_target")];

    private sealed record DatasetVersion(long CatalogRows, string? Checksum, long TableRows);
}
