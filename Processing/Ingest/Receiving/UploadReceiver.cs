using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest.Columns;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Ingest.Csv;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;
using Npgsql;

namespace DataStack.Processing.Ingest.Receiving;

/// <summary>
/// The request half of an upload: receives the body and copies its rows into a staged table in PostgreSQL, in a
/// transaction that stays open for the caller to queue the ingest job in (<see cref="StagedUploadTransaction"/>).
/// The table and the job commit together, so the job can run on any replica and an accepted upload survives the
/// death of the replica that received it: nothing one process writes is read by another.
/// </summary>
/// <remarks>
/// <para>A body in the columns format declares its types: its rows are copied while it arrives. A CSV body's types are
/// inferred from every value, so it is read twice: the first pass (<see cref="CsvScan"/>) runs while the body is
/// written to a temporary file of this process, deleted when the request ends; the second copies the rows.</para>
/// <para>A body that cannot be staged (malformed, or columns that do not match the dataset it is appended to) is read
/// to its end and answered as a rejection: its job fails at once with the row and column of the first problem, as an
/// ingest of a file does.</para>
/// </remarks>
public sealed partial class UploadReceiver(NpgsqlDataSource dataSource, ILogger<UploadReceiver> logger)
{
    /// <summary>Uploads one replica copies at once; each holds a database connection while it copies. Others wait.</summary>
    public const int MaxConcurrentCopies = 4;

    private const int BufferSize = 1 << 16;

    private readonly SemaphoreSlim _copySlots = new(MaxConcurrentCopies, MaxConcurrentCopies);

    /// <summary>
    /// Receives and stages <paramref name="body"/> (the caller limits its size). Rethrows a client that went away or a
    /// database that failed, after rolling back whatever was staged (and logging a client that went away).
    /// </summary>
    public async Task<ReceivedUpload> ReceiveAsync(Stream body, UploadRequest upload, CancellationToken cancellationToken)
    {
        try
        {
            return upload.Format == IngestFormat.Columns
                ? await ReceiveColumnsAsync(body, upload, cancellationToken)
                : await ReceiveCsvAsync(body, upload, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client went away: nothing was queued, and the staged table went with its transaction.
            Log.UploadAborted(logger, upload.Dataset, ex.Message);
            throw;
        }
    }

    private async Task<ReceivedUpload> ReceiveColumnsAsync(Stream body, UploadRequest upload, CancellationToken cancellationToken)
    {
        using var reader = new ColumnsReader(body);
        try
        {
            await reader.ReadHeaderAsync(cancellationToken);
        }
        catch (IngestFormatException ex)
        {
            return await RejectAsync(body, ex.ToJobError(), cancellationToken);
        }

        var source = new IngestSource(
            reader.ColumnNames,
            reader.Types,
            AllNull: null,
            HeaderRow: null,
            (connection, table, types, freeze, token) => ColumnsCopy.CopyAsync(connection, table, reader, types, freeze, progress: null, token),
            () => (reader.BytesConsumed, reader.Checksum));
        return await StageAsync(body, upload, source, cancellationToken);
    }

    private async Task<ReceivedUpload> ReceiveCsvAsync(Stream body, UploadRequest upload, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"datastack-upload-{Guid.NewGuid():N}.csv");
        await using var copy = new FileStream(
            path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, BufferSize, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        CsvScan scan;
        using (var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest infer"))
        {
            try
            {
                scan = await CsvScan.ScanAsync(new CopyingReadStream(body, copy), upload.Delimiter, upload.Header, progress: null, cancellationToken);
                activity?.SetTag("datastack.ingest.rows", scan.Rows);
                activity?.SetTag("datastack.ingest.bytes", scan.Bytes);
            }
            catch (IngestFormatException ex)
            {
                ProcessingTelemetry.RecordFailure(activity, ex, ex.Code);
                return await RejectAsync(body, ex.ToJobError(), cancellationToken);
            }
        }

        copy.Position = 0;
        var source = new IngestSource(
            scan.ColumnNames,
            scan.Types,
            scan.AllNull,
            HeaderRow: upload.Header ? 1 : null,
            (connection, table, types, freeze, token) => CsvCopy.CopyAsync(
                connection, table, scan.ColumnNames, types, copy, upload.Delimiter, upload.Header, scan, freeze, progress: null, token),
            () => (scan.Bytes, scan.Checksum));
        return await StageAsync(body, upload, source, cancellationToken);
    }

    /// <summary>
    /// Creates the staged table and copies the rows into it, in a transaction left open for the job. An append is
    /// written in the dataset's column types as they are now; its job checks, under the dataset's lock, that they
    /// still are.
    /// </summary>
    private async Task<ReceivedUpload> StageAsync(Stream body, UploadRequest upload, IngestSource source, CancellationToken cancellationToken)
    {
        await _copySlots.WaitAsync(cancellationToken);
        NpgsqlConnection? connection = null;
        NpgsqlTransaction? transaction = null;
        using var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest copy");
        try
        {
            connection = await dataSource.OpenConnectionAsync(cancellationToken);
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            var types = source.Types;
            if (upload.Mode == IngestMode.Append
                && await DatasetCatalog.ReadTableColumnsAsync(connection, upload.Dataset, cancellationToken) is { Count: > 0 } existing)
            {
                types = IngestTable.MatchExistingColumns(upload.Dataset, existing, source);
            }

            var table = StagedUpload.NewTableName();
            var qualified = DatasetName.InSchema(table);
            IReadOnlyList<DatasetColumn> columns = [.. source.ColumnNames.Select((name, i) => new DatasetColumn(name, types[i].ToSql()))];
            await IngestTable.CreateTableAsync(connection, qualified, columns, cancellationToken);
            var rows = await source.CopyAsync(connection, qualified, types, true, cancellationToken); // frozen: the table is new in this transaction
            activity?.SetTag("datastack.ingest.rows", rows);
            var (bytes, checksum) = source.Totals();
            return ReceivedUpload.Staged(new StagedUploadTransaction(connection, transaction, _copySlots, new StagedUpload(table, rows, bytes, checksum)));
        }
        catch (Exception ex) when (RejectionOf(ex) is { } error)
        {
            ProcessingTelemetry.RecordFailure(activity, ex, error.Code);
            await ReleaseAsync(connection, transaction, _copySlots);
            return await RejectAsync(body, error, cancellationToken);
        }
        catch (Exception ex)
        {
            ProcessingTelemetry.RecordFailure(activity, ex, code: null);
            await ReleaseAsync(connection, transaction, _copySlots);
            throw;
        }
    }

    /// <summary>Reads the rest of the body (the client is still sending it) and answers the rejection its job will report.</summary>
    private async Task<ReceivedUpload> RejectAsync(Stream body, JobError error, CancellationToken cancellationToken)
    {
        await body.CopyToAsync(Stream.Null, BufferSize, cancellationToken);
        Log.UploadRejected(logger, error.Code, error.Row, error.Column); // never the body's values
        return ReceivedUpload.Rejected(error);
    }

    /// <summary>What the upload's answer reports for a failure of the input (malformed, or not matching the dataset); null for any other.</summary>
    private static JobError? RejectionOf(Exception ex) => ex switch
    {
        IngestFormatException format => format.ToJobError(),
        JobFailedException failed => failed.Error,
        _ => null,
    };

    internal static async Task ReleaseAsync(NpgsqlConnection? connection, NpgsqlTransaction? transaction, SemaphoreSlim slots)
    {
        try
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }

            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
        finally
        {
            slots.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Upload to dataset {Dataset} aborted: {Reason}")]
        public static partial void UploadAborted(ILogger logger, string dataset, string reason);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Upload rejected ({ErrorCode}, row {Row}, column {Column}); its job reports it")]
        public static partial void UploadRejected(ILogger logger, string errorCode, long? row, int? column);
    }
}
