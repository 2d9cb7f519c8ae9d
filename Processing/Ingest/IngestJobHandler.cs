using System.Text.Json;
using System.Text.Json.Nodes;
using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest.Columns;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Ingest.Csv;
using DataStack.Processing.Ingest.Receiving;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DataStack.Processing.Ingest;

/// <summary>
/// Runs <c>ingest</c> jobs: lands an upload that its request staged in PostgreSQL, or loads a CSV file from the
/// data folder into the typed table <c>datasets."{name}"</c>, and records it in the catalog.
/// </summary>
/// <remarks>
/// <para>An upload's rows are already in its staged table (<see cref="UploadReceiver"/>): the job swaps the table in
/// (<c>fail</c>, <c>replace</c>) or appends its rows (<c>append</c>), under the dataset's lock.</para>
/// <para>A file takes two streaming passes, so that types hold every value while memory stays flat: <see cref="CsvScan"/>
/// validates the file, infers the types and computes the checksum; <see cref="CsvCopy"/> converts and
/// binary-COPYs the rows into a new table <c>{name}__ingest_{job}</c> (or the existing one, appending).</para>
/// <para>All writes happen in one transaction that also completes the job: any failure rolls back and the previous
/// dataset stays exactly as it was. Ingests of the same dataset are serialised by an advisory lock, across
/// replicas.</para>
/// <para>Progress: <c>bytes</c> counts the bytes this job has read (twice the file size at the end of a file's two
/// passes; an upload's body size); <c>rows</c> counts the rows copied.</para>
/// </remarks>
public sealed partial class IngestJobHandler(
    NpgsqlDataSource dataSource,
    IOptions<IngestOptions> options,
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

    /// <summary>The kind of job this handler runs.</summary>
    public const string KindName = "ingest";

    public string Kind => KindName;

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
        return args.Upload
            ? await LandUploadAsync(context, args, cancellationToken)
            : await IngestFileAsync(context, args, cancellationToken);
    }

    /// <summary>An upload's staged table goes with its job: swapped in or appended on success, dropped otherwise.</summary>
    public async Task JobEndedAsync(JobContext context, JobStatus status, CancellationToken cancellationToken)
    {
        if (status != JobStatus.Succeeded && TryReadArgs(context.Args)?.Staged is { } staged)
        {
            await DropAsideTableAsync(staged.Table);
        }
    }

    /// <summary>
    /// Lands an upload's staged table under the dataset's lock: swaps it in as the dataset (<c>fail</c>, <c>replace</c>, an
    /// append to no dataset) or appends its rows, when the dataset's columns are still those the request wrote.
    /// </summary>
    private async Task<JsonNode> LandUploadAsync(JobContext context, IngestArgs args, CancellationToken cancellationToken)
    {
        if (args.Rejected is { } rejection)
        {
            throw new JobFailedException(rejection);
        }

        var staged = args.Staged!;
        var name = args.Dataset;
        context.ReportProgress(staged.Rows, staged.Bytes);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await IngestTable.LockDatasetAsync(connection, name, cancellationToken);
        var stagedColumns = await DatasetCatalog.ReadTableColumnsAsync(connection, staged.Table, cancellationToken);
        if (stagedColumns.Count == 0)
        {
            throw new JobFailedException("upload_missing", $"The rows of this upload (table {staged.Table}) are gone: the job was run after they were dropped. Upload the data again.");
        }

        var existing = await DatasetCatalog.ReadTableColumnsAsync(connection, name, cancellationToken);
        var stagedTable = DatasetName.InSchema(staged.Table);
        // The catalog names types as ingest writes them ("timestamp"), not as PostgreSQL spells them out.
        IReadOnlyList<DatasetColumn> columns = [.. stagedColumns.Select(c => c with { Type = ColumnTypes.TryParseSql(c.Type, out var type) ? type.ToSql() : c.Type })];
        LandedRows landed;
        if (args.Mode == IngestMode.Append && existing.Count > 0)
        {
            if (!existing.SequenceEqual(stagedColumns))
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"Dataset '{name}' changed while the upload waited for its job: its columns are now ({Describe(existing)}), the upload's ({Describe(stagedColumns)}). Upload it again.");
            }

            var target = DatasetName.QualifiedTable(name);
            using (ProcessingTelemetry.ActivitySource.StartActivity("ingest append"))
            {
                await IngestTable.AppendAsync(connection, target, stagedTable, cancellationToken);
            }

            // An appended dataset is no longer one body: it has no single checksum.
            landed = new LandedRows(columns, staged.Rows, await IngestTable.CountRowsAsync(connection, target, cancellationToken), Checksum: null, Replaced: null);
        }
        else
        {
            if (args.Mode == IngestMode.Fail && (existing.Count > 0 || await IngestTable.ExistsAsync(connection, name, cancellationToken)))
            {
                throw Exists(name);
            }

            var replaced = await IngestTable.SwapInAsync(connection, name, stagedTable, context.Id, cancellationToken);
            landed = new LandedRows(columns, staged.Rows, staged.Rows, staged.Checksum, replaced);
        }

        return await FinishAsync(context, connection, transaction, args, landed, staged.Bytes, origin: "upload", cancellationToken);
    }

    private async Task<JsonNode> IngestFileAsync(JobContext context, IngestArgs args, CancellationToken cancellationToken)
    {
        if (!DataFolder.TryResolve(options.Value.DataDir, args.Path, out var path, out var pathError))
        {
            throw new JobFailedException("invalid_args", $"args.path: {pathError}"); // Validate said it was fine; the folder changed.
        }

        if (!File.Exists(path))
        {
            throw new JobFailedException("file_not_found", DataFolder.MissingFileMessage(options.Value.DataDir, args.Path!));
        }

        // Cheap early answer; checked again under the lock before anything is written.
        if (args.Mode == IngestMode.Fail && await ExistsAsync(args.Dataset, cancellationToken))
        {
            throw Exists(args.Dataset);
        }

        try
        {
            if (args.Format == IngestFormat.Columns)
            {
                // One pass: the file declares its types.
                await using var file = OpenFile(path);
                using var reader = new ColumnsReader(file);
                await reader.ReadHeaderAsync(cancellationToken);
                var columnsSource = new IngestSource(
                    reader.ColumnNames,
                    reader.Types,
                    AllNull: null,
                    HeaderRow: null,
                    (connection, target, types, freeze, token) => ColumnsCopy.CopyAsync(
                        connection, target, reader, types, freeze, (copied, bytes) => context.ReportProgress(copied, bytes), token),
                    () => (reader.BytesConsumed, reader.Checksum));
                return await LoadFileAsync(context, args, path, columnsSource, cancellationToken);
            }

            // Pass 1 (validate, infer, count, checksum; no database work yet).
            var delimiter = args.Delimiter[0];
            var scan = await ScanAsync(context, path, delimiter, args.Header, cancellationToken);

            // Pass 2: convert and COPY.
            var csvSource = new IngestSource(
                scan.ColumnNames,
                scan.Types,
                scan.AllNull,
                HeaderRow: args.Header ? 1 : null,
                async (connection, target, types, freeze, token) =>
                {
                    await using var file = OpenFile(path);
                    return await CsvCopy.CopyAsync(
                        connection, target, scan.ColumnNames, types, file, delimiter, args.Header, scan, freeze,
                        (copied, bytes) => context.ReportProgress(copied, scan.Bytes + bytes),
                        token);
                },
                () => (scan.Bytes, scan.Checksum));
            return await LoadFileAsync(context, args, path, csvSource, cancellationToken);
        }
        catch (IngestFormatException ex)
        {
            throw new JobFailedException(ex.ToJobError());
        }
    }

    /// <summary>
    /// The writing half of a file's ingest, whatever its format: under the dataset's lock, creates the staging
    /// table (or matches the existing columns when appending), copies, swaps in, updates the catalog and completes
    /// the job, all in one transaction.
    /// </summary>
    private async Task<JsonNode> LoadFileAsync(JobContext context, IngestArgs args, string path, IngestSource source, CancellationToken cancellationToken)
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
            target = DatasetName.QualifiedTable(IngestTable.StagingTableName(name, context.Id));
        }

        IReadOnlyList<DatasetColumn> columns = [.. source.ColumnNames.Select((column, i) => new DatasetColumn(column, types[i].ToSql()))];
        if (!appendToExisting)
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

        var (bytes, checksum) = source.Totals();
        var origin = "file:" + Path.GetRelativePath(Path.GetFullPath(options.Value.DataDir), path);
        var landed = appendToExisting
            // An appended dataset is no longer one file: it has no single checksum.
            ? new LandedRows(columns, rows, await IngestTable.CountRowsAsync(connection, target, cancellationToken), Checksum: null, Replaced: null)
            : new LandedRows(columns, rows, rows, checksum, await IngestTable.SwapInAsync(connection, name, target, context.Id, cancellationToken));
        return await FinishAsync(context, connection, transaction, args, landed, bytes, origin, cancellationToken);
    }

    /// <summary>
    /// Records the dataset in the catalog and the job's success in the ingest's transaction, commits, then drops the table
    /// a replace set aside (after the commit, which is what the job's caller waits for).
    /// </summary>
    private async Task<JsonNode> FinishAsync(
        JobContext context, NpgsqlConnection connection, NpgsqlTransaction transaction, IngestArgs args, LandedRows landed, long bytes, string origin, CancellationToken cancellationToken)
    {
        var name = args.Dataset;
        await DatasetCatalog.UpsertAsync(connection, name, landed.Columns, landed.DatasetRows, origin, landed.Checksum, context.Id, cancellationToken);
        var result = new JsonObject
        {
            ["dataset"] = name,
            ["rows"] = landed.Rows,
            ["bytes"] = bytes,
            ["columns"] = new JsonArray([.. landed.Columns.Select(c => new JsonObject { ["name"] = c.Name, ["type"] = c.Type })]),
            ["mode"] = ModeName(args.Mode),
            ["checksum"] = landed.Checksum,
        };
        await context.CompleteInTransactionAsync(connection, result, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (landed.Replaced is { } replaced)
        {
            await DropAsideTableAsync(replaced);
        }

        telemetry.RowsIngested.Add(landed.Rows);
        telemetry.BytesIngested.Add(bytes);
        Log.Ingested(logger, context.Id, name, landed.Rows, bytes);
        return result;
    }

    private async Task<CsvScan> ScanAsync(
        JobContext context, string path, char delimiter, bool header, CancellationToken cancellationToken)
    {
        using var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest infer");
        try
        {
            await using var file = OpenFile(path);
            var scan = await CsvScan.ScanAsync(file, delimiter, header, (_, bytes) => context.ReportProgress(0, bytes), cancellationToken);
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

    /// <summary>Drops a staged or replaced table (never a dataset's: both names have a dash); the sweeper retries failures.</summary>
    private async Task DropAsideTableAsync(string table)
    {
        try
        {
            await using var command = dataSource.CreateCommand($"DROP TABLE IF EXISTS {DatasetName.InSchema(table)}");
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException ex)
        {
            Log.AsideTableNotDropped(logger, table, ex.Message); // The upload sweeper drops it later.
        }
    }

    /// <summary>Opens a file of the data folder for one pass; fails the job if it turns out to be outside the folder.</summary>
    private FileStream OpenFile(string path) =>
        DataFolder.OpenInside(options.Value.DataDir, path, s_readOnce)
        ?? throw new JobFailedException("invalid_args", "args.path: The file leads outside the data folder (a symbolic link changed after the path was checked).");

    /// <summary>The arguments, or null for ones that never parsed (a job that failed <c>invalid_args</c> named no staged table).</summary>
    private static IngestArgs? TryReadArgs(JsonElement args)
    {
        try
        {
            return IngestArgs.FromJson(args);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(IReadOnlyList<DatasetColumn> columns) => string.Join(", ", columns.Select(c => $"{c.Name} {c.Type}"));

    private static string ModeName(IngestMode mode) => mode switch
    {
        IngestMode.Replace => "replace",
        IngestMode.Append => "append",
        _ => "fail",
    };

    private static JobFailedException Exists(string name) =>
        new("exists", $"Dataset '{name}' already exists; use mode=replace or mode=append.");

    /// <summary>What an ingest wrote: the dataset's columns, rows copied, rows the dataset has now, its checksum, and the table a replace set aside.</summary>
    private sealed record LandedRows(IReadOnlyList<DatasetColumn> Columns, long Rows, long DatasetRows, string? Checksum, string? Replaced);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Job {JobId} ingested {RowCount} rows ({ByteCount} bytes) into dataset {Dataset}")]
        public static partial void Ingested(ILogger logger, Guid jobId, string dataset, long rowCount, long byteCount);

        [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Could not drop the set-aside table {Table}; the upload sweeper will: {Reason}")]
        public static partial void AsideTableNotDropped(ILogger logger, string table, string reason);
    }
}
