using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;
using Npgsql;

namespace DataStack.Processing.Tests;

/// <summary>Ingest modes replace, append and fail, and cancelling: what the dataset holds afterwards, and what must not be left behind.</summary>
public sealed class IngestModeTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Fact]
    public async Task ReplaceSwapsInTheNewDataAndTypes()
    {
        // Arrange
        var name = TestDatasets.NewName("repl");
        await app.UploadOkAsync(name, "a,b\n1,x\n2,y\n");

        // Act
        var job = await app.UploadAndWaitAsync(name, "a,c\n1.5,2024-01-01\n", "?mode=replace");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([["a", "double precision"], ["c", "date"]], await app.ColumnTypesAsync(name));
        Assert.Equal([[1.5, new DateOnly(2024, 1, 1)]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        Assert.Equal(1L, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = $1", name));
        Assert.Empty(await app.StagingTablesAsync(name));
        await app.AssertReplacedTableDroppedAsync(job.Id);
    }

    [Fact]
    public async Task AnAppendWhoseDatasetWasReplacedBeforeItsJobRanFailsAndLeavesTheReplacement()
    {
        // Arrange: a dataset of bigints, and its ingest lock held (as a long ingest of it would), so jobs queue behind it.
        var name = TestDatasets.NewName("moved");
        await app.UploadOkAsync(name, "a\n1\n");
        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await IngestTable.LockDatasetAsync(holder, name, CancellationToken.None);

        // Act: a replace with text queues first; then an append written as bigint (the dataset's type when it arrived).
        var replace = await app.UploadAsync(name, "a\nfoo\n", "?mode=replace");
        await WaitForLockWaitersAsync(name, 1);
        var append = await app.UploadAsync(name, "a\n5\n", "?mode=append");
        await WaitForLockWaitersAsync(name, 2);
        await hold.RollbackAsync();
        var replaced = await app.WaitAsync(replace.Id);
        var appended = await app.WaitAsync(append.Id);

        // Assert: the append refuses to land on columns it was not written for; the replacement stays as it was.
        Assert.Equal(JobStatus.Succeeded, replaced.Status);
        Assert.Equal(JobStatus.Failed, appended.Status);
        Assert.Equal("schema_mismatch", appended.Error?.Code);
        Assert.Contains("changed while the upload waited", appended.Error?.Message, StringComparison.Ordinal);
        Assert.Equal([["foo"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT a FROM datasets.{name}"));
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task ANewTableIsWrittenFrozenSoVacuumSkipsItsPagesButAnAppendIsNot()
    {
        // Arrange: over a hundred pages (VACUUM reads runs of fewer than 32 skippable pages anyway).
        var name = TestDatasets.NewName("frozen");
        var csv = "n,label\n" + string.Concat(Enumerable.Range(1, 20_000).Select(i => $"{i},row number {i}\n"));

        // Act
        await app.UploadOkAsync(name, csv);
        var created = await app.VacuumPagesAsync(name);
        Assert.Equal(JobStatus.Succeeded, (await app.UploadAndWaitAsync(name, csv, "?mode=append")).Status);
        var appended = await app.VacuumPagesAsync(name);

        // Assert: VACUUM reads only the last page of the new table; the appended rows (not frozen: the table was
        // not created in the append's transaction) must be scanned.
        Assert.True(created.Remain > 64, $"{created.Remain} pages");
        Assert.True(created.Scanned <= 1, $"VACUUM scanned {created.Scanned} of {created.Remain} pages of a freshly ingested table");
        Assert.True(appended.Scanned > 10, $"VACUUM scanned {appended.Scanned} of {appended.Remain} pages after an append");
    }

    [Fact]
    public async Task ReplaceThatFailsAfterTheCopyLeavesTheOldDatasetExactlyAsItWas()
    {
        // Arrange: a view on the table makes the final DROP fail, after the new rows were copied.
        var name = TestDatasets.NewName("atomic");
        await app.UploadOkAsync(name, "a,b\n1,x\n2,y\n");
        await Sql.ExecuteAsync(app.ConnectionString, $"CREATE VIEW public.{name}_v AS SELECT * FROM datasets.{name}");
        var before = await app.CatalogEntryAsync(name);

        // Act
        var job = await app.UploadAndWaitAsync(name, "a,b\n3,z\n", "?mode=replace");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("dependent_objects", job.Error?.Code);
        Assert.Equal([[1L, "x"], [2L, "y"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY a"));
        Assert.Equal(before, await app.CatalogEntryAsync(name));
        Assert.Empty(await app.StagingTablesAsync(name));
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task AppendAddsRowsWhoseTypesFitTheExistingColumns()
    {
        // Arrange: bigint fits double precision, date fits timestamp, numbers fit text, an all-empty column fits anything.
        var name = TestDatasets.NewName("app");
        await app.UploadOkAsync(name, "id,x,at,s,b\n1,0.5,2024-01-01 10:00,hello,true\n");

        // Act
        var job = await app.UploadAndWaitAsync(name, "id,x,at,s,b\n2,7,2024-01-02,42,\n", "?mode=append");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(
            [[1L, 0.5, new DateTime(2024, 1, 1, 10, 0, 0), "hello", true], [2L, 7.0, new DateTime(2024, 1, 2), "42", null]],
            await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY id"));
        Assert.Equal(
            [["id", "bigint"], ["x", "double precision"], ["at", "timestamp without time zone"], ["s", "text"], ["b", "boolean"]],
            await app.ColumnTypesAsync(name));
        Assert.Equal(2L, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = $1", name));
        Assert.Equal(1, job.Result!.Value.GetProperty("rows").GetInt64());
        Assert.Equal("append", job.Result!.Value.GetProperty("mode").GetString());
    }

    [Fact]
    public async Task AppendToAMissingDatasetCreatesIt()
    {
        // Arrange
        var name = TestDatasets.NewName("appnew");

        // Act
        var job = await app.UploadAndWaitAsync(name, "a\n1\n", "?mode=append");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([[1L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
    }

    [Theory]
    [InlineData("id,x\n2,not a number\n", "'x'", 2)]
    [InlineData("id,y\n2,3\n", "column 2", 2)]
    [InlineData("id\n2\n", "column 2", 2)]
    [InlineData("id,x,z\n2,3,4\n", "column 3", 3)]
    [InlineData("x,id\n3,2\n", "column 1", 1)]
    public async Task AppendWithAnotherSchemaFailsAndNamesTheColumn(string csv, string named, int column)
    {
        // Arrange
        var name = TestDatasets.NewName("mism");
        await app.UploadOkAsync(name, "id,x\n1,5\n");
        var before = await app.CatalogEntryAsync(name);

        // Act
        var job = await app.UploadAndWaitAsync(name, csv, "?mode=append");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("schema_mismatch", job.Error?.Code);
        Assert.Equal(column, job.Error?.Column);
        Assert.Contains(named, job.Error?.Message, StringComparison.Ordinal);
        Assert.Equal([[1L, 5L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        Assert.Equal(before, await app.CatalogEntryAsync(name));
    }

    [Fact]
    public async Task ModeFailAnswers409AtSubmitWhenTheDatasetExists()
    {
        // Arrange
        var name = TestDatasets.NewName("exists");
        await app.UploadOkAsync(name, "a\n1\n");
        using var content = new StringContent("a\n2\n", Encoding.UTF8, "text/csv");

        // Act
        using var response = await app.Client.PutAsync($"/datasets/{name}", content);

        // Assert
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task ModeFailEndsExistsWhenTheDatasetAppearedBeforeTheJobRan()
    {
        // Arrange: POST /jobs skips the endpoint's early check, as a job queued before the dataset appeared would.
        var name = TestDatasets.NewName("late");
        await app.UploadOkAsync(name, "a\n1\n");
        var path = app.WriteDataFile($"{name}.csv", "a\n2\n");

        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "ingest", args = new { dataset = name, path, mode = "fail" } });
        var job = await app.WaitAsync((await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web))!.Id);

        // Assert
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("exists", job.Error?.Code);
        Assert.Equal([[1L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
    }

    [Fact]
    public async Task CancellingARunningIngestLeavesNothingBehind()
    {
        // Arrange: hold the dataset's ingest lock, so the job waits inside its transaction until cancelled.
        var name = TestDatasets.NewName("cancel");
        await using var blocker = new NpgsqlConnection(app.ConnectionString);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await IngestTable.LockDatasetAsync(blocker, name, CancellationToken.None);

        var queued = await app.UploadAsync(name, "a\n1\n");
        await WaitForLockWaitersAsync(name, 1);

        // Act
        using var cancel = await app.Client.PostAsync($"/jobs/{queued.Id}/cancel", null);
        var job = await app.WaitAsync(queued.Id);

        // Assert
        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.Null(await Sql.ScalarAsync<string>(app.ConnectionString, "SELECT to_regclass($1)::text", $"datasets.{name}"));
        Assert.Empty(await app.StagingTablesAsync(name));
        await app.AssertNoAsideTablesAsync();
    }

    /// <summary>Waits until <paramref name="count"/> ingest jobs wait for the dataset's lock (queued behind the test's).</summary>
    private Task WaitForLockWaitersAsync(string name, int count) => Poll.UntilAsync(
        async () => await Sql.ScalarAsync<long>(
            app.ConnectionString,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = (hashtextextended('datastack.ingest:' || $1, 0) & 4294967295)::oid",
            name) >= count,
        TimeSpan.FromSeconds(15),
        $"{count} ingest job(s) waiting for dataset {name}'s lock");
}
