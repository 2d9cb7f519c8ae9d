using DataStack.Processing.Database;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DataStack.Processing.Ingest;

/// <summary>
/// Removes upload spool files that no queued or running ingest job refers to any more: uploads whose job
/// was cancelled before it ran, or failed for good when its replica died on the last attempt. A job's own
/// handler removes its file in every other case. Files younger than <see cref="MinimumAge"/> are left alone,
/// so an upload still being received (not yet queued) is never touched. Staged upload tables
/// (<see cref="StagedUpload"/>) whose job has ended or is gone are dropped too; one still being copied is not
/// committed yet, so it is invisible here. So are old tables of replaced datasets. Safe on every replica at once.
/// </summary>
public sealed partial class UploadSweeper(
    NpgsqlDataSource dataSource, MigrationState migrations, IOptions<ProcessingOptions> options, ILogger<UploadSweeper> logger)
    : BackgroundService
{
    public static readonly TimeSpan MinimumAge = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan s_interval = TimeSpan.FromMinutes(5);

    /// <summary>Deletes orphaned spool files (and drops orphaned staged and replaced tables) once; returns how many files.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        await DropOrphanedAsideTablesAsync(cancellationToken);
        var uploads = options.Value.UploadsDirectory;
        if (!Directory.Exists(uploads))
        {
            return 0;
        }

        var referenced = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = dataSource.CreateCommand(
            """
            SELECT args->>'path' FROM datastack.jobs
            WHERE kind = 'ingest' AND status IN ('queued', 'running') AND (args->>'upload')::boolean
            """))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!reader.IsDBNull(0))
                {
                    referenced.Add(Path.GetFileName(reader.GetString(0)));
                }
            }
        }

        var deleted = 0;
        var cutoff = DateTime.UtcNow - MinimumAge;
        foreach (var file in new DirectoryInfo(uploads).EnumerateFiles())
        {
            if (file.LastWriteTimeUtc < cutoff && !referenced.Contains(file.Name))
            {
                try
                {
                    file.Delete();
                    deleted++;
                }
                catch (IOException ex)
                {
                    Log.SweepFailed(logger, file.Name, ex.Message);
                }
            }
        }

        if (deleted > 0)
        {
            Log.Swept(logger, deleted);
        }

        return deleted;
    }

    /// <summary>
    /// Drops staged tables no queued or running ingest job names, and the old tables replaced datasets left
    /// behind (<see cref="IngestTable.SwapInAsync"/>; their job drops them right after its commit, unless it died
    /// in between). One statement, so the tables and the jobs are seen in one snapshot: a job committed with its
    /// staged table is never missed.
    /// </summary>
    private async Task DropOrphanedAsideTablesAsync(CancellationToken cancellationToken)
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
            await using var drop = dataSource.CreateCommand($"DROP TABLE IF EXISTS datasets.{Datasets.DatasetName.QuoteIdentifier(table)}");
            await drop.ExecuteNonQueryAsync(cancellationToken);
            Log.AsideTableDropped(logger, table);
        }
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
                Log.SweepFailed(logger, options.Value.UploadsDirectory, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Removed {Count} orphaned upload spool files")]
        public static partial void Swept(ILogger logger, int count);

        [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Dropped orphaned set-aside table {Table} (a staged upload or a replaced dataset's old table)")]
        public static partial void AsideTableDropped(ILogger logger, string table);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Could not sweep upload spool {Path}: {Reason}")]
        public static partial void SweepFailed(ILogger logger, string path, string reason);
    }
}
