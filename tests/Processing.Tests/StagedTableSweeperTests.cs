using DataStack.Processing.Database;
using DataStack.Processing.Ingest;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace DataStack.Processing.Tests;

public sealed class StagedTableSweeperTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
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
                    '{"dataset": "later", "mode": "replace", "upload": true, "staged": {"table": "{{{live}}}", "rows": 0, "bytes": 1, "checksum": "xxh128:00"}}',
                    3, now() + interval '1 day')
            """);

        // Act
        await NewSweeper().SweepAsync(CancellationToken.None);

        // Assert
        Assert.False(await TableExistsAsync(replaced));
        Assert.False(await TableExistsAsync(orphan));
        Assert.True(await TableExistsAsync(live));
    }

    private StagedTableSweeper NewSweeper() => new(
        app.Services.GetRequiredService<NpgsqlDataSource>(),
        app.Services.GetRequiredService<JobStore>(),
        app.Services.GetRequiredService<MigrationState>(),
        NullLogger<StagedTableSweeper>.Instance);

    private async Task<bool> TableExistsAsync(string table) =>
        await Sql.ScalarAsync<bool>(app.ConnectionString, "SELECT to_regclass($1) IS NOT NULL", $"datasets.\"{table}\"");
}
