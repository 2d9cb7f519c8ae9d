using DataStack.Processing.Database;
using Npgsql;

namespace DataStack.Processing.Ingest;

/// <summary>
/// Drops the tables ingests set aside and no longer need: staged uploads (<see cref="StagedUpload"/>) whose job has
/// ended or is gone (cancelled before it ran, or failed for good when its replica died on the last attempt), and the
/// old tables of replaced datasets whose job died before dropping them. A job's own handler drops its table in every
/// other case; a staged table still being copied is not committed yet, so it is invisible here. Safe on every replica
/// at once.
/// </summary>
public sealed partial class UploadSweeper(NpgsqlDataSource dataSource, MigrationState migrations, ILogger<UploadSweeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMinutes(5);

    /// <summary>Drops orphaned staged and replaced tables once; returns how many.</summary>
    public Task<int> SweepAsync(CancellationToken cancellationToken) => DropOrphanedAsideTablesAsync(cancellationToken);

    /// <summary>
    /// Drops staged tables no queued or running ingest job names, and the old tables replaced datasets left
    /// behind (<see cref="IngestTable.SwapInAsync"/>; their job drops them right after its commit, unless it died
    /// in between). One statement, so the tables and the jobs are seen in one snapshot: a job committed with its
    /// staged table is never missed.
    /// </summary>
    private async Task<int> DropOrphanedAsideTablesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'datasets' AND c.relkind = 'r'
              AND (starts_with(c.relname, '{IngestTable.ReplacedPrefix}')
                   OR (starts_with(c.relname, '{StagedUpload.Prefix}') AND NOT EXISTS (
                       SELECT 1 FROM datastack.jobs j
                       WHERE j.kind = 'ingest' AND j.status IN ('queued', 'running') AND j.args->'staged'->>'table' = c.relname)))
            """);
        var orphans = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                orphans.Add(reader.GetString(0));
            }
        }

        foreach (var table in orphans)
        {
            await using var drop = dataSource.CreateCommand($"DROP TABLE IF EXISTS {Datasets.DatasetName.InSchema(table)}");
            await drop.ExecuteNonQueryAsync(cancellationToken);
            Log.AsideTableDropped(logger, table);
        }

        return orphans.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WhenApplied.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(s_interval);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (NpgsqlException ex)
            {
                Log.SweepFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Dropped orphaned set-aside table {Table} (a staged upload or a replaced dataset's old table)")]
        public static partial void AsideTableDropped(ILogger logger, string table);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Could not sweep set-aside tables: {Reason}")]
        public static partial void SweepFailed(ILogger logger, string reason);
    }
}
