using System.Text.Json;
using System.Text.Json.Nodes;
using DataStack.Processing.Datasets;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DataStack.Processing.Ingest;

/// <summary>
/// Runs <c>ingest</c> jobs: loads a CSV file from the data folder (or an upload spooled there) into the
/// typed table <c>datasets."{name}"</c> and records it in the catalog.
/// </summary>
/// <remarks>
/// <para>Two streaming passes, so that types hold every value while memory stays flat: <see cref="IngestScan"/>
/// validates the file, infers the types and computes the checksum; <see cref="IngestCopy"/> converts and
/// binary-COPYs the rows.</para>
/// <para>All writes happen in one transaction that also completes the job. <c>fail</c> and <c>replace</c>
/// COPY into a new table <c>{name}__ingest_{job}</c>, then drop the old table and rename the new one;
/// <c>append</c> COPYs into the existing table (or creates it when there is none). Any failure rolls back:
/// the previous dataset stays exactly as it was. Ingests of the same dataset are serialised by an advisory
/// lock, across replicas.</para>
/// <para>An upload's first pass runs while its body is received (<see cref="IngestArgs.Scan"/>); its job
/// runs only the second.</para>
/// <para>Progress: <c>bytes</c> counts the bytes this job has read (twice the file size at the end when it ran
/// both passes, once for an upload); <c>rows</c> counts the rows copied in the second pass.</para>
/// </remarks>
public sealed partial class IngestJobHandler(
    NpgsqlDataSource dataSource,
    IOptions<ProcessingOptions> options,
    ProcessingTelemetry telemetry,
    ILogger<IngestJobHandler> logger) : IJobHandler
{
    private static readonly FileStreamOptions s_readOnce = new()
    {
        Mode = FileMode.Open,
        Access = FileAccess.Read,
        Share = FileShare.Read,
        BufferSize = 0, // CsvReader and ColumnsReader have their own buffers.
        Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
    };

    public string Kind => JobKinds.Ingest;

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args) => IngestValidation.Validate(args, options.Value);

    public async Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var errors = Validate(context.Args);
        if (errors.Count > 0)
        {
            var (key, messages) = errors.First();
            throw new JobFailedException("invalid_args", $"{key}: {messages[0]}");
        }

        var args = IngestArgs.FromJson(context.Args)!;
        if (!DataFolder.TryResolve(options.Value.DataDir, args.Path, out var path, out var pathError))
        {
            throw new JobFailedException("invalid_args", $"args.path: {pathError}"); // Validate said it was fine; the folder changed.
        }

        // The spool file of an upload goes once the job has ended; it stays while the job may run again.
        var mayRunAgain = false;
        var succeeded = false;
        try
        {
            var result = await IngestAsync(context, args, path, cancellationToken);
            succeeded = true;
            return result;
        }
        catch (IngestFormatException ex)
        {
            throw new JobFailedException(ex.Code, ex.Message, ex.Row, ex.Column);
        }
        catch (LeaseLostException)
        {
            mayRunAgain = true; // Another replica has the job now.
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A user's cancel ends the job; a shutdown or a lost lease returns it to the queue.
            mayRunAgain = !await IsCancelRequestedAsync(context.Id);
            throw;
        }
        catch (Exception ex) when (ex is not JobFailedException && context.Attempt < options.Value.MaxAttempts)
        {
            mayRunAgain = true; // Transient (database, disk): the runner retries.
            throw;
        }
        finally
        {
            if (args.Upload && !mayRunAgain)
            {
                DeleteSpoolFile(path);
                if (!succeeded && args.Staged is { } staged)
                {
                    await DropAsideTableAsync(staged.Table); // Swapped in on success; otherwise it goes with the job.
                }
            }
        }
    }

    private async Task<JsonNode> IngestAsync(JobContext context, IngestArgs args, string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new JobFailedException("file_not_found", DataFolder.MissingFileMessage(options.Value.DataDir, args.Path));
        }

        // Cheap early answer; checked again under the lock before anything is written.
        if (args.Mode == IngestMode.Fail && await ExistsAsync(args.Dataset, cancellationToken))
        {
            throw Exists(args.Dataset);
        }

        if (args.Format == IngestFormat.Columns)
        {
            // One pass: the upload declares its types.
            await using var file = OpenFile(path);
            using var reader = new ColumnsReader(file);
            await reader.ReadHeaderAsync(cancellationToken);
            if (args.Staged is { } staged && args.Mode != IngestMode.Append && await StagedTableExistsAsync(staged.Table, cancellationToken))
            {
                // Copied while it was received (UploadStaging): only the swap is left.
                context.ReportProgress(staged.Rows, staged.Bytes);
                var stagedSource = new IngestSource(
                    reader.ColumnNames,
                    reader.Types,
                    AllNull: null,
                    HeaderRow: null,
                    (_, _, _, _, _) => Task.FromResult(staged.Rows),
                    () => (staged.Bytes, staged.Checksum),
                    staged.Table);
                return await LoadAsync(context, args, path, stagedSource, cancellationToken);
            }

            var columnsSource = new IngestSource(
                reader.ColumnNames,
                reader.Types,
                AllNull: null,
                HeaderRow: null,
                (connection, target, types, freeze, token) => ColumnsCopy.CopyAsync(
                    connection, target, reader, types, freeze, (copied, bytes) => context.ReportProgress(copied, bytes), token),
                () => (reader.BytesConsumed, reader.Checksum));
            return await LoadAsync(context, args, path, columnsSource, cancellationToken);
        }

        // Pass 1 (validate, infer, count, checksum; no database work yet), unless it ran while the upload was received.
        var delimiter = args.Delimiter[0];
        var scan = args.Scan ?? await ScanAsync(context, path, delimiter, args.Header, cancellationToken);
        var scannedBytes = args.Scan is null ? scan.Bytes : 0;

        // Pass 2: convert and COPY.
        var csvSource = new IngestSource(
            scan.ColumnNames,
            scan.Types,
            scan.AllNull,
            HeaderRow: args.Header ? 1 : null,
            async (connection, target, types, freeze, token) =>
            {
                await using var file = OpenFile(path);
                return await IngestCopy.CopyAsync(
                    connection, target, scan.ColumnNames, types, file, delimiter, args.Header, scan, freeze,
                    (copied, bytes) => context.ReportProgress(copied, scannedBytes + bytes),
                    token);
            },
            () => (scan.Bytes, scan.Checksum));
        return await LoadAsync(context, args, path, csvSource, cancellationToken);
    }

    /// <summary>
    /// The writing half of an ingest, whatever the input's format: under the dataset's lock, creates the
    /// staging table (or matches the existing columns when appending), copies, swaps in, updates the catalog
    /// and completes the job, all in one transaction.
    /// </summary>
    private async Task<JsonNode> LoadAsync(JobContext context, IngestArgs args, string path, IngestSource source, CancellationToken cancellationToken)
    {
        var name = args.Dataset;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await IngestTable.LockDatasetAsync(connection, name, cancellationToken);
        var existing = await DatasetCatalog.ReadTableColumnsAsync(connection, name, cancellationToken);
        var appendToExisting = args.Mode == IngestMode.Append && existing.Count > 0;

        string target;
        IReadOnlyList<ColumnType> types;
        if (appendToExisting)
        {
            types = IngestTable.MatchExistingColumns(name, existing, source);
            target = DatasetName.QualifiedTable(name);
        }
        else
        {
            if (args.Mode == IngestMode.Fail && (existing.Count > 0 || await IngestTable.ExistsAsync(connection, name, cancellationToken)))
            {
                throw Exists(name);
            }

            types = source.Types;
            target = source.StagedTable is { } staged
                ? $"datasets.{DatasetName.QuoteIdentifier(staged)}"
                : DatasetName.QualifiedTable(IngestTable.StagingTableName(name, context.Id));
        }

        IReadOnlyList<DatasetColumn> columns = [.. source.ColumnNames.Select((column, i) => new DatasetColumn(column, types[i].ToSql()))];
        if (!appendToExisting && source.StagedTable is null)
        {
            await IngestTable.CreateTableAsync(connection, target, columns, cancellationToken);
        }

        long rows;
        using (var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest copy"))
        {
            try
            {
                // A new table (not an append) was created in this transaction: its rows can be written frozen.
                rows = await source.CopyAsync(connection, target, types, !appendToExisting, cancellationToken);
                activity?.SetTag("datastack.ingest.rows", rows);
            }
            catch (Exception ex)
            {
                ProcessingTelemetry.RecordFailure(activity, ex, (ex as IngestFormatException)?.Code);
                throw;
            }
        }

        long rowCount;
        string? replaced = null;
        if (appendToExisting)
        {
            rowCount = await IngestTable.CountRowsAsync(connection, target, cancellationToken);
        }
        else
        {
            replaced = await IngestTable.SwapInAsync(connection, name, target, context.Id, cancellationToken);
            rowCount = rows;
        }

        // An appended dataset is no longer one file: it has no single checksum.
        var (bytes, checksum) = source.Totals();
        var origin = args.Upload ? "upload" : "file:" + Path.GetRelativePath(Path.GetFullPath(options.Value.DataDir), path);
        await DatasetCatalog.UpsertAsync(
            connection, name, columns, rowCount, origin, appendToExisting ? null : checksum, context.Id, cancellationToken);

        var result = new JsonObject
        {
            ["dataset"] = name,
            ["rows"] = rows,
            ["bytes"] = bytes,
            ["columns"] = new JsonArray([.. columns.Select(c => new JsonObject { ["name"] = c.Name, ["type"] = c.Type })]),
            ["mode"] = ModeName(args.Mode),
            ["checksum"] = checksum,
        };
        await context.CompleteInTransactionAsync(connection, result, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (replaced is not null)
        {
            await DropAsideTableAsync(replaced); // after the commit, which is what the job's caller waits for
        }

        telemetry.RowsIngested.Add(rows);
        telemetry.BytesIngested.Add(bytes);
        Log.Ingested(logger, context.Id, name, rows, bytes);
        return result;
    }

    private async Task<IngestScan> ScanAsync(
        JobContext context, string path, char delimiter, bool header, CancellationToken cancellationToken)
    {
        using var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest infer");
        try
        {
            await using var file = OpenFile(path);
            var scan = await IngestScan.ScanAsync(file, delimiter, header, (_, bytes) => context.ReportProgress(0, bytes), cancellationToken);
            activity?.SetTag("datastack.ingest.rows", scan.Rows);
            activity?.SetTag("datastack.ingest.bytes", scan.Bytes);
            return scan;
        }
        catch (Exception ex)
        {
            ProcessingTelemetry.RecordFailure(activity, ex, (ex as IngestFormatException)?.Code);
            throw;
        }
    }

    private async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await IngestTable.ExistsAsync(connection, name, cancellationToken);
    }

    private async Task<bool> StagedTableExistsAsync(string table, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
        command.Parameters.Add(new() { Value = $"datasets.{DatasetName.QuoteIdentifier(table)}" });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Drops a staged or replaced table (never a dataset's: both names have a dash); the sweeper retries failures.</summary>
    private async Task DropAsideTableAsync(string table)
    {
        try
        {
            await using var command = dataSource.CreateCommand($"DROP TABLE IF EXISTS datasets.{DatasetName.QuoteIdentifier(table)}");
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException ex)
        {
            Log.AsideTableNotDropped(logger, table, ex.Message); // The upload sweeper drops it later.
        }
    }

    private async Task<bool> IsCancelRequestedAsync(Guid jobId)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT cancel_requested FROM datastack.jobs WHERE id = $1");
            command.Parameters.Add(new() { Value = jobId });
            return await command.ExecuteScalarAsync(CancellationToken.None) is true;
        }
        catch (NpgsqlException ex)
        {
            // Cannot tell: keep the spool file rather than lose an upload that may run again.
            Log.CancelStateUnknown(logger, jobId, ex.Message);
            return false;
        }
    }

    private void DeleteSpoolFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.SpoolNotDeleted(logger, path, ex.Message);
        }
    }

    /// <summary>Opens a file of the data folder for one pass; fails the job if it turns out to be outside the folder.</summary>
    private FileStream OpenFile(string path) =>
        DataFolder.OpenInside(options.Value.DataDir, path, s_readOnce)
        ?? throw new JobFailedException("invalid_args", "args.path: The file leads outside the data folder (a symbolic link changed after the path was checked).");

    private static string ModeName(IngestMode mode) => mode switch
    {
        IngestMode.Replace => "replace",
        IngestMode.Append => "append",
        _ => "fail",
    };

    private static JobFailedException Exists(string name) =>
        new("exists", $"Dataset '{name}' already exists; use mode=replace or mode=append.");

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Job {JobId} ingested {RowCount} rows ({ByteCount} bytes) into dataset {Dataset}")]
        public static partial void Ingested(ILogger logger, Guid jobId, string dataset, long rowCount, long byteCount);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Could not delete the upload spool file {Path}: {Reason}")]
        public static partial void SpoolNotDeleted(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Could not drop the set-aside table {Table}; the upload sweeper will: {Reason}")]
        public static partial void AsideTableNotDropped(ILogger logger, string table, string reason);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Could not tell whether job {JobId} was cancelled; its upload spool file is kept: {Reason}")]
        public static partial void CancelStateUnknown(ILogger logger, Guid jobId, string reason);
    }
}
