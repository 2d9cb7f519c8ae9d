using DataStack.Processing.Database;
using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Jobs;
using Npgsql;

namespace DataStack.Processing.Ingest;

/// <summary>
/// Drops the tables ingests set aside and no longer need: staged uploads (<see cref="StagedUpload"/>) whose job has
/// ended or is gone (cancelled before it ran, or ended on a replica that died before letting go of it), and the old
/// tables of replaced datasets whose job died before dropping them. A job's handler drops its table in every other
/// case; a staged table still being copied is not committed yet, so it is invisible here. Safe on every replica at once.
/// </summary>
public sealed partial class StagedTableSweeper(
    NpgsqlDataSource dataSource, JobStore queue, MigrationState migrations, ILogger<StagedTableSweeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMinutes(5);

    private static readonly string[] s_stagedTablePath = ["staged", "table"];

    /// <summary>
    /// Drops orphaned staged and replaced tables once; returns how many. The tables are read before the queue: a
    /// staged table commits together with its job, so a table seen here has its job seen next, unless that job ended.
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = '{DatasetName.Schema}' AND c.relkind = 'r'
              AND (starts_with(c.relname, '{IngestTable.ReplacedPrefix}') OR starts_with(c.relname, '{StagedUpload.Prefix}'))
            """);
        var candidates = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                candidates.Add(reader.GetString(0));
            }
        }

        var wanted = await queue.ArgumentValuesOfLiveJobsAsync(IngestJobHandler.KindName, s_stagedTablePath, cancellationToken);
        var orphans = candidates.Where(table => !wanted.Contains(table)).ToList();
        foreach (var table in orphans)
        {
            await using var drop = dataSource.CreateCommand($"DROP TABLE IF EXISTS {DatasetName.InSchema(table)}");
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
