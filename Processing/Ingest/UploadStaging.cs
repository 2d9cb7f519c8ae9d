using DataStack.Processing.Datasets;
using DataStack.Processing.Telemetry;
using Npgsql;

namespace DataStack.Processing.Ingest;

/// <summary>
/// A columns upload copied into its staged table while the body arrives (the format declares its types up
/// front, so the COPY can start at the first batch). The copy runs in a transaction that stays open until the
/// upload's job is queued on the same connection: both commit together, or neither does. A client that goes
/// away, a body the format rejects, a database error: the transaction rolls back and nothing of the upload is in
/// the database; the spool file (written from the same bytes) and the job remain the contract.
/// </summary>
internal sealed partial class UploadStaging : IAsyncDisposable
{
    /// <summary>Staged copies one replica runs at once; further uploads are only spooled (each holds a connection).</summary>
    private static readonly SemaphoreSlim s_slots = new(4, 4);

    private readonly NpgsqlTransaction _transaction;
    private bool _released;

    private UploadStaging(NpgsqlConnection connection, NpgsqlTransaction transaction, StagedUpload upload)
    {
        Connection = connection;
        _transaction = transaction;
        Upload = upload;
    }

    /// <summary>The connection whose open transaction holds the staged table; queue the job on it.</summary>
    public NpgsqlConnection Connection { get; }

    public StagedUpload Upload { get; }

    /// <summary>
    /// Reads the whole body through <paramref name="spool"/>'s writer and copies its rows into the staged table
    /// for <paramref name="spoolName"/>. Null when it could not stage (no slot free, a body the format rejects, a
    /// database error): the body is then spooled whole all the same, and the job loads the spool file (and
    /// reports the body's error with its row and column, as it would for any spooled upload).
    /// </summary>
    public static async Task<UploadStaging?> CopyWhileSpoolingAsync(
        NpgsqlDataSource dataSource, Stream body, Stream spool, string spoolName, ILogger logger, CancellationToken cancellationToken)
    {
        if (!s_slots.Wait(0, CancellationToken.None))
        {
            return null;
        }

        NpgsqlConnection? connection = null;
        NpgsqlTransaction? transaction = null;
        using var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest copy");
        try
        {
            using var reader = new ColumnsReader(new CopyingReadStream(body, spool));
            await reader.ReadHeaderAsync(cancellationToken);
            connection = await dataSource.OpenConnectionAsync(cancellationToken);
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            var table = StagedUpload.TableFor(spoolName);
            var qualified = $"datasets.{DatasetName.QuoteIdentifier(table)}";
            IReadOnlyList<DatasetColumn> columns = [.. reader.ColumnNames.Select((name, i) => new DatasetColumn(name, reader.Types[i].ToSql()))];
            await IngestTable.CreateTableAsync(connection, qualified, columns, cancellationToken);
            var rows = await ColumnsCopy.CopyAsync(connection, qualified, reader, reader.Types, freeze: true, progress: null, cancellationToken);
            activity?.SetTag("datastack.ingest.rows", rows);
            return new UploadStaging(connection, transaction, new StagedUpload(table, rows, reader.BytesConsumed, reader.Checksum));
        }
        catch (Exception ex) when (ex is IngestFormatException or NpgsqlException)
        {
            // Not staged; the job will load the spool file (and fail with the body's error, if that is what it was).
            ProcessingTelemetry.RecordFailure(activity, ex, (ex as IngestFormatException)?.Code);
            Log.NotStaged(logger, spoolName, ex is IngestFormatException format ? format.Code : ex.Message); // never the body's values
            await ReleaseAsync(connection, transaction);
            await body.CopyToAsync(spool, 1 << 16, cancellationToken);
            return null;
        }
        catch
        {
            await ReleaseAsync(connection, transaction);
            throw;
        }
    }

    /// <summary>Commits the staged table together with the job queued on <see cref="Connection"/>.</summary>
    public async Task CommitAsync()
    {
        // Not cancellable: the job is in this transaction; a half-sent commit helps nobody.
        await _transaction.CommitAsync(CancellationToken.None);
    }

    /// <summary>Rolls back whatever was not committed and returns the connection and the slot.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_released)
        {
            _released = true;
            await ReleaseAsync(Connection, _transaction);
        }
    }

    private static async Task ReleaseAsync(NpgsqlConnection? connection, NpgsqlTransaction? transaction)
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
            s_slots.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Upload {Spool} not copied while received; its job loads the spool file: {Reason}")]
        public static partial void NotStaged(ILogger logger, string spool, string reason);
    }
}
