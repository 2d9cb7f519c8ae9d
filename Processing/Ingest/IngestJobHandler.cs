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

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args)
    {
        var errors = new Dictionary<string, string[]>();
        if (!TryReadArgs(args, out var ingest, out var key, out var problem))
        {
            errors[key] = [problem];
            return errors;
        }

        if (!DatasetName.IsValid(ingest.Dataset))
        {
            errors["args.dataset"] = [$"Use {DatasetName.Rule}."];
        }

        if (!DataFolder.TryResolve(options.Value.DataDir, ingest.Path, out var fullPath, out var pathError))
        {
            errors["args.path"] = [pathError];
        }
        else if (ingest.Upload && !IsInUploadsFolder(fullPath))
        {
            // The spool file of an upload is deleted after the job: it must never be one of the user's files.
            errors["args.path"] = ["An upload's file must be in the data folder's .uploads folder."];
        }

        if (!Enum.IsDefined(ingest.Format))
        {
            errors["args.format"] = ["csv or columns."];
        }

        if (ingest.Scan is not null)
        {
            if (!ingest.Upload || ingest.Format != IngestFormat.Csv)
            {
                errors["args.scan"] = ["Only a CSV upload's job carries a scan (the upload endpoint sets it)."];
            }
            else if (ingest.Scan.Problem() is { } scanProblem)
            {
                errors["args.scan"] = [scanProblem];
            }
        }

        if (!Enum.IsDefined(ingest.Mode))
        {
            errors["args.mode"] = ["One of fail, replace, append."];
        }

        if (ingest.Delimiter is not { Length: 1 } || !CsvReader.IsValidDelimiter(ingest.Delimiter[0]))
        {
            errors["args.delimiter"] = ["One ASCII character other than a quote or a line break."];
        }

        return errors;
    }

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
        try
        {
            return await IngestAsync(context, args, path, cancellationToken);
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
            }
        }
    }

    private async Task<JsonNode> IngestAsync(JobContext context, IngestArgs args, string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new JobFailedException("file_not_found", $"There is no file '{args.Path}' in the data folder.");
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
            var columnsSource = new IngestSource(
                reader.ColumnNames,
                reader.Types,
                AllNull: null,
                HeaderRow: null,
                (connection, target, types, token) => ColumnsCopy.CopyAsync(
                    connection, target, reader, types, (copied, bytes) => context.ReportProgress(copied, bytes), token),
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
            async (connection, target, types, token) =>
            {
                await using var file = OpenFile(path);
                return await IngestCopy.CopyAsync(
                    connection, target, scan.ColumnNames, types, file, delimiter, args.Header, scan,
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
        await LockDatasetAsync(connection, name, cancellationToken);
        var existing = await DatasetCatalog.ReadTableColumnsAsync(connection, name, cancellationToken);
        var appendToExisting = args.Mode == IngestMode.Append && existing.Count > 0;

        string target;
        IReadOnlyList<ColumnType> types;
        if (appendToExisting)
        {
            types = MatchExistingColumns(name, existing, source);
            target = DatasetName.QualifiedTable(name);
        }
        else
        {
            if (args.Mode == IngestMode.Fail && (existing.Count > 0 || await ExistsAsync(connection, name, cancellationToken)))
            {
                throw Exists(name);
            }

            types = source.Types;
            target = DatasetName.QualifiedTable(StagingTableName(name, context.Id));
        }

        IReadOnlyList<DatasetColumn> columns = [.. source.ColumnNames.Select((column, i) => new DatasetColumn(column, types[i].ToSql()))];
        if (!appendToExisting)
        {
            await CreateTableAsync(connection, target, columns, cancellationToken);
        }

        long rows;
        using (var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest copy"))
        {
            try
            {
                rows = await source.CopyAsync(connection, target, types, cancellationToken);
                activity?.SetTag("datastack.ingest.rows", rows);
            }
            catch (Exception ex)
            {
                ProcessingTelemetry.RecordFailure(activity, ex, (ex as IngestFormatException)?.Code);
                throw;
            }
        }

        long rowCount;
        if (appendToExisting)
        {
            rowCount = await CountRowsAsync(connection, target, cancellationToken);
        }
        else
        {
            await SwapInAsync(connection, name, target, cancellationToken);
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

    /// <summary>
    /// The type to write each column as when appending: the existing column's. The input must have the same
    /// columns in the same order, and every input type must fit the existing one — for CSV checked here on
    /// the inferred types (an all-empty column fits anything); for the columns format checked per non-NULL
    /// value while copying (<see cref="ColumnConversions"/>).
    /// </summary>
    private static ColumnType[] MatchExistingColumns(string name, IReadOnlyList<DatasetColumn> existing, IngestSource source)
    {
        var inputColumns = source.ColumnNames;
        for (var i = 0; i < Math.Max(existing.Count, inputColumns.Count); i++)
        {
            if (i >= existing.Count || i >= inputColumns.Count || existing[i].Name != inputColumns[i])
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"The file's columns ({string.Join(", ", inputColumns)}) differ from dataset '{name}''s ({string.Join(", ", existing.Select(c => c.Name))}) at column {i + 1}.",
                    source.HeaderRow,
                    i + 1);
            }
        }

        var types = new ColumnType[existing.Count];
        for (var i = 0; i < types.Length; i++)
        {
            if (!ColumnTypes.TryParseSql(existing[i].Type, out types[i]))
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"Column '{existing[i].Name}' of dataset '{name}' has type {existing[i].Type}, which ingest cannot append to.",
                    column: i + 1);
            }

            if (source.AllNull is { } allNull && !allNull[i] && !Fits(source.Types[i], types[i]))
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"Column '{existing[i].Name}' holds {source.Types[i].ToSql()} values; dataset '{name}' has it as {types[i].ToSql()}.",
                    column: i + 1);
            }
        }

        return types;
    }

    /// <summary>Anything fits text; bigint fits double precision; date fits timestamp; every type fits itself.</summary>
    private static bool Fits(ColumnType inferred, ColumnType existing) =>
        inferred == existing
        || existing == ColumnType.Text
        || (inferred == ColumnType.Bigint && existing == ColumnType.DoublePrecision)
        || (inferred == ColumnType.Date && existing == ColumnType.Timestamp);

    /// <summary><c>{name}__ingest_{first 8 hex digits of the job id}</c>, the name cut so the whole stays within 63 bytes.</summary>
    private static string StagingTableName(string name, Guid jobId)
    {
        var suffix = "__ingest_" + jobId.ToString("N")[..8];
        return name[..Math.Min(name.Length, 63 - suffix.Length)] + suffix;
    }

    private static async Task CreateTableAsync(
        NpgsqlConnection connection, string table, IReadOnlyList<DatasetColumn> columns, CancellationToken cancellationToken)
    {
        var definitions = string.Join(", ", columns.Select(c => $"{DatasetName.QuoteIdentifier(c.Name)} {c.Type}"));
        await using var command = new NpgsqlCommand($"CREATE TABLE {table} ({definitions})", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Drops the old table (if any) and gives the staging table its name; readers wait only for this moment.</summary>
    private static async Task SwapInAsync(NpgsqlConnection connection, string name, string stagingTable, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = new NpgsqlCommand(
                $"""
                DROP TABLE IF EXISTS {DatasetName.QualifiedTable(name)};
                ALTER TABLE {stagingTable} RENAME TO {DatasetName.QuoteIdentifier(name)};
                """,
                connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DependentObjectsStillExist)
        {
            throw new JobFailedException("dependent_objects", $"Dataset '{name}' cannot be replaced: {ex.MessageText}. {ex.Detail}");
        }
    }

    private static async Task<long> CountRowsAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Serialises ingests of one dataset (on every replica) until the transaction ends.</summary>
    private static async Task LockDatasetAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('datastack.ingest:' || $1, 0))", connection);
        command.Parameters.Add(new() { Value = name });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ExistsAsync(connection, name, cancellationToken);
    }

    /// <summary>A dataset exists when it has a catalog entry or a table.</summary>
    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM datastack.datasets WHERE name = $1) OR to_regclass($2) IS NOT NULL", connection);
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = DatasetName.QualifiedTable(name) });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
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

    private bool IsInUploadsFolder(string fullPath) =>
        string.Equals(Path.GetDirectoryName(fullPath), options.Value.UploadsDirectory, StringComparison.Ordinal);

    /// <summary>Opens a file of the data folder for one pass; fails the job if it turns out to be outside the folder.</summary>
    private FileStream OpenFile(string path) =>
        DataFolder.OpenInside(options.Value.DataDir, path, s_readOnce)
        ?? throw new JobFailedException("invalid_args", "args.path: The file leads outside the data folder (a symbolic link changed after the path was checked).");

    private static bool TryReadArgs(JsonElement args, out IngestArgs ingest, out string key, out string problem)
    {
        ingest = null!;
        key = "args";
        problem = "";
        if (args.ValueKind != JsonValueKind.Object)
        {
            problem = "Must be a JSON object with dataset, path, mode, delimiter, header.";
            return false;
        }

        foreach (var required in (ReadOnlySpan<string>)["dataset", "path"])
        {
            if (!args.TryGetProperty(required, out _))
            {
                key = "args." + required;
                problem = "Required.";
                return false;
            }
        }

        try
        {
            ingest = IngestArgs.FromJson(args)!;
            return true;
        }
        catch (JsonException ex)
        {
            // "$.mode" → "args.mode".
            key = ex.Path is { Length: > 2 } jsonPath ? "args" + jsonPath[1..] : "args";
            problem = "Has the wrong type or value.";
            return false;
        }
    }

    private static string ModeName(IngestMode mode) => mode switch
    {
        IngestMode.Replace => "replace",
        IngestMode.Append => "append",
        _ => "fail",
    };

    private static JobFailedException Exists(string name) =>
        new("exists", $"Dataset '{name}' already exists; use mode=replace or mode=append.");

    /// <summary>
    /// What an ingest loads, whatever its format: the column names and types, which columns held only NULLs
    /// (null when not known before the copy), the record holding the names (for errors), how to copy the rows
    /// into a table of the given types, and the input's size and checksum once it has been copied.
    /// </summary>
    private sealed record IngestSource(
        IReadOnlyList<string> ColumnNames,
        IReadOnlyList<ColumnType> Types,
        IReadOnlyList<bool>? AllNull,
        long? HeaderRow,
        Func<NpgsqlConnection, string, IReadOnlyList<ColumnType>, CancellationToken, Task<long>> CopyAsync,
        Func<(long Bytes, string Checksum)> Totals);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Job {JobId} ingested {RowCount} rows ({ByteCount} bytes) into dataset {Dataset}")]
        public static partial void Ingested(ILogger logger, Guid jobId, string dataset, long rowCount, long byteCount);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Could not delete the upload spool file {Path}: {Reason}")]
        public static partial void SpoolNotDeleted(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Could not tell whether job {JobId} was cancelled; its upload spool file is kept: {Reason}")]
        public static partial void CancelStateUnknown(ILogger logger, Guid jobId, string reason);
    }
}
