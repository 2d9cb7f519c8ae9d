using DataStack.Processing.Ingest.Copying;
using Npgsql;

namespace DataStack.Processing.Ingest.Receiving;

/// <summary>
/// The open transaction that holds an upload's staged table (<see cref="Upload"/>). Queue the upload's job on
/// <see cref="Connection"/>, then <see cref="CommitAsync"/>: the table and the job commit together, or neither does
/// (disposing without a commit rolls both back). Disposing also returns the connection and the copy slot.
/// </summary>
public sealed class StagedUploadTransaction : IAsyncDisposable
{
    private readonly NpgsqlTransaction _transaction;
    private readonly SemaphoreSlim _slots;
    private bool _released;

    internal StagedUploadTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, SemaphoreSlim slots, StagedUpload upload)
    {
        Connection = connection;
        _transaction = transaction;
        _slots = slots;
        Upload = upload;
    }

    /// <summary>The connection whose open transaction holds the staged table; queue the job on it.</summary>
    public NpgsqlConnection Connection { get; }

    public StagedUpload Upload { get; }

    /// <summary>Commits the staged table together with the job queued on <see cref="Connection"/>.</summary>
    public async Task CommitAsync()
    {
        // Not cancellable: the job is in this transaction; a half-sent commit helps nobody.
        await _transaction.CommitAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_released)
        {
            _released = true;
            await UploadReceiver.ReleaseAsync(Connection, _transaction, _slots);
        }
    }
}
