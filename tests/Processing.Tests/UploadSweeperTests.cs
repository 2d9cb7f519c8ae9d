using DataStack.Processing.Database;
using DataStack.Processing.Ingest;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DataStack.Processing.Tests;

public sealed class UploadSweeperTests(ProcessingApp app) : IClassFixture<ProcessingApp>, IDisposable
{
    // The app's own sweeper sweeps its data folder when it starts; this test's sweeper gets a folder of its
    // own so the two never race over the same files.
    private readonly string _dataDir = Directory.CreateTempSubdirectory("datastack-sweep-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    [Fact]
    public async Task SweepRemovesOldSpoolFilesThatNoLiveJobRefersTo()
    {
        // Arrange
        var orphan = SpoolFile($"{Guid.NewGuid():N}.csv", age: TimeSpan.FromHours(1));
        var young = SpoolFile($"{Guid.NewGuid():N}.csv", age: TimeSpan.Zero);
        var queuedName = $"{Guid.NewGuid():N}.csv";
        var queued = SpoolFile(queuedName, age: TimeSpan.FromHours(1));
        // A queued upload job that no worker will claim yet (run_after in the future).
        await Sql.ExecuteAsync(app.ConnectionString, $$"""
            INSERT INTO datastack.jobs (id, kind, args, max_attempts, run_after)
            VALUES (gen_random_uuid(), 'ingest',
                    '{"dataset": "later", "path": ".uploads/{{queuedName}}", "mode": "replace", "upload": true}',
                    3, now() + interval '1 day')
            """);

        // Act
        var deleted = await NewSweeper().SweepAsync(CancellationToken.None);

        // Assert
        Assert.Equal(1, deleted);
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(young));
        Assert.True(File.Exists(queued));
    }

    [Fact]
    public async Task SweepDropsOrphanedStagedTablesAndTheOldTablesOfReplacedDatasets()
    {
        // Arrange: an old table a replace set aside (its job died before dropping it), a staged upload whose job
        // is gone, and a staged upload whose job is still queued (it must stay).
        var replaced = $"replaced-{Guid.NewGuid():N}";
        var orphan = $"upload-{Guid.NewGuid():N}";
        var live = $"upload-{Guid.NewGuid():N}";
        foreach (var table in (string[])[replaced, orphan, live])
        {
            await Sql.ExecuteAsync(app.ConnectionString, $"CREATE TABLE datasets.\"{table}\" (a bigint)");
        }

        await Sql.ExecuteAsync(app.ConnectionString, $$$"""
            INSERT INTO datastack.jobs (id, kind, args, max_attempts, run_after)
            VALUES (gen_random_uuid(), 'ingest',
                    '{"dataset": "later", "path": ".uploads/x.columns", "mode": "replace", "upload": true, "staged": {"table": "{{{live}}}"}}',
                    3, now() + interval '1 day')
            """);

        // Act
        await NewSweeper().SweepAsync(CancellationToken.None);

        // Assert
        Assert.False(await TableExistsAsync(replaced));
        Assert.False(await TableExistsAsync(orphan));
        Assert.True(await TableExistsAsync(live));
    }

    private UploadSweeper NewSweeper() => new(
        app.Services.GetRequiredService<NpgsqlDataSource>(),
        app.Services.GetRequiredService<MigrationState>(),
        Options.Create(new ProcessingOptions { DataDir = _dataDir }),
        NullLogger<UploadSweeper>.Instance);

    private async Task<bool> TableExistsAsync(string table) =>
        await Sql.ScalarAsync<bool>(app.ConnectionString, "SELECT to_regclass($1) IS NOT NULL", $"datasets.\"{table}\"");

    private string SpoolFile(string name, TimeSpan age)
    {
        var path = Path.Combine(_dataDir, ".uploads", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "a\n1\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }
}
