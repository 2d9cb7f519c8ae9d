using Npgsql;

namespace DataStack.Processing.Transforms;

/// <summary>Runs <c>pg_advisory_unlock_all()</c> on the read connection once its transaction has ended (once).</summary>
internal sealed class AdvisoryLockRelease(NpgsqlConnection connection) : IAsyncDisposable
{
    private int _released;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 1 || connection.FullState != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // The connection broke: Npgsql does not pool it, and the session's end releases its locks.
        }
    }
}
