using System.Net;
using System.Net.Http.Json;
using System.Text;
using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;

namespace DataStack.Reliability.Tests;

/// <summary>A transform's query cannot write outside its own dataset, nor leave anything behind that does.</summary>
public sealed class TransformIsolationTests(SecuredReplica secured, ITestOutputHelper output) : IClassFixture<SecuredReplica>
{
    [Fact]
    public async Task TransformsCannotWriteOutsideTheirDataset()
    {
        // Arrange: a victim dataset, and a fingerprint of everything a transform must not change.
        var victim = await UploadAsync("tx_victim", "id,fare\n1,10\n2,20\n3,30\n");
        string[] attacks =
        [
            $"delete from {victim}",
            $"select 1 as a; drop table {victim}",
            $"select 1) AS q) TO STDOUT; drop table datasets.{victim}; --",
            $"with d as (delete from {victim} returning *) select * from d",
            $"with d as (update datastack.jobs set status = 'failed' returning id) select * from d",
            "select set_config('transaction_read_only', 'off', true) as flipped, (select count(*) from datastack.jobs) as n",
            $"select * from {victim} for update",
            "select lo_from_bytea(0, 'x'::bytea) as oid",
            "select nextval('datastack.no_such_seq') as v",
            $"select * from datasets.{victim}; commit; delete from datasets.{victim}",
            "select pg_catalog.pg_notify('datastack_job_cancel', id::text) as n from datastack.jobs",
        ];
        var before = await FingerprintAsync(victim);

        // Act
        var outcomes = new List<string>();
        foreach (var (query, i) in attacks.Select((q, i) => (q, i)))
        {
            using var response = await secured.Client.PostAsJsonAsync($"/datasets/tx_attack_{i}/transform", new { query });
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var job = await Api.WaitAsync(secured.Client, (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!.Id);
                outcomes.Add($"{job.Status} {job.Error?.Code}");
            }
            else
            {
                outcomes.Add($"{(int)response.StatusCode}");
            }

            output.WriteLine($"{outcomes[^1],-24} {query}");
        }

        // Assert: nothing outside the transforms' own target datasets changed.
        Assert.Equal(before, await FingerprintAsync(victim));
        Assert.All(outcomes, o => Assert.True(o is "400" || o.StartsWith("failed", StringComparison.Ordinal) || o.StartsWith("succeeded", StringComparison.Ordinal), o));
    }

    [Theory]
    [InlineData("succeeds", "select pg_advisory_lock(hashtextextended('datastack.ingest:{victim}', 0)) is null as locked")]
    [InlineData("fails", "select 1 / (locked::int - locked::int) as boom from (select pg_advisory_lock(hashtextextended('datastack.ingest:{victim}', 0)) is null as locked offset 0) s")]
    public async Task ATransformCannotKeepALockThatBlocksAnotherDatasetsIngest(string outcome, string template)
    {
        // Arrange: a session-level advisory lock is not released by the rollback that ends a transform's
        // read-only transaction; on a pooled connection it would outlive the job. This one is the lock that
        // serialises ingests of the victim dataset.
        var victim = await UploadAsync($"lock_victim_{outcome}", "id\n1\n");
        var transform = await TransformAsync($"lock_attacker_{outcome}", template.Replace("{victim}", victim, StringComparison.Ordinal));

        var heldAfterTransform = await Sql.ScalarAsync<long>(
            secured.Set.ConnectionString, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted");

        // Act: ingest the victim again; it must not wait on the transform's lock.
        using var response = await CsvFiles.UploadAsync(secured.Client, victim, new MemoryStream(Encoding.UTF8.GetBytes("id\n1\n2\n")));
        await Api.EnsureSuccessAsync(response, $"PUT /datasets/{victim}");
        var ingest = await Api.WaitAsync(secured.Client, (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!.Id, timeoutSeconds: 30);

        // Assert
        Assert.Equal(outcome == "succeeds" ? "succeeded" : "failed", transform.Status);
        output.WriteLine($"transform: {transform.Status} {transform.Error}; advisory locks held after it: {heldAfterTransform}; ingest after it: {ingest.Status}");
        Assert.Equal(0L, heldAfterTransform);
        Assert.Equal("succeeded", ingest.Status);
        Assert.Equal(0L, await Sql.ScalarAsync<long>(
            secured.Set.ConnectionString, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"));
    }

    private async Task<string> UploadAsync(string name, string csv)
    {
        using var response = await CsvFiles.UploadAsync(secured.Client, name, new MemoryStream(Encoding.UTF8.GetBytes(csv)));
        await Api.EnsureSuccessAsync(response, $"PUT /datasets/{name}");
        var job = await Api.WaitAsync(secured.Client, (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!.Id);
        Assert.True(job.Status == "succeeded", $"upload of {name}: {job.Status} {job.Error}");
        return name;
    }

    private async Task<WireJob> TransformAsync(string name, string query)
    {
        using var response = await secured.Client.PostAsJsonAsync($"/datasets/{name}/transform", new { query });
        await Api.EnsureSuccessAsync(response, $"POST /datasets/{name}/transform");
        return await Api.WaitAsync(secured.Client, (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!.Id);
    }

    /// <summary>The victim's rows, the catalog outside the attackers' entries, the queue's states, large objects, tables.</summary>
    private async Task<string> FingerprintAsync(string victim)
    {
        var connectionString = secured.Set.ConnectionString;
        var rows = await Sql.ScalarAsync<string>(connectionString, $"SELECT md5(string_agg(id || ':' || fare, ',' ORDER BY id)) FROM datasets.{victim}");
        var catalog = await Sql.ScalarAsync<string>(
            connectionString,
            "SELECT md5(string_agg(name || row_count || coalesce(checksum, '') || updated_at, ',' ORDER BY name)) FROM datastack.datasets WHERE name NOT LIKE 'tx_attack_%'");
        var failedOrCancelled = await Sql.ScalarAsync<long>(
            connectionString, "SELECT count(*) FROM datastack.jobs WHERE status IN ('failed', 'cancelled') AND kind <> 'transform'");
        var largeObjects = await Sql.ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_largeobject_metadata");
        var tables = string.Join(",", (await Db.TablesAsync(connectionString)).Where(t => !t.StartsWith("datasets.tx_attack_", StringComparison.Ordinal)));
        return $"rows {rows}; catalog {catalog}; failed/cancelled {failedOrCancelled}; large objects {largeObjects}; tables {tables}";
    }
}
