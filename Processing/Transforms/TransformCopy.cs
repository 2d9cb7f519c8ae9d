using DataStack.Processing.Jobs;
using Npgsql;

namespace DataStack.Processing.Transforms;

/// <summary>The copy half of a transform: the query's rows from the read-only connection into the staging table.</summary>
internal static class TransformCopy
{
    /// <summary>
    /// Streams the query's rows, in PostgreSQL's binary COPY format, from the read-only connection into the
    /// staging table on the write connection, counting rows on the way for progress. Returns the row count.
    /// A query error is reported at its place in <paramref name="text"/>, <paramref name="prefixLength"/> being the
    /// length of what <paramref name="copyOut"/> puts before it.
    /// </summary>
    public static async Task<long> CopyAsync(
        JobContext context,
        NpgsqlConnection read,
        string copyOut,
        NpgsqlConnection write,
        string copyIn,
        string text,
        int prefixLength,
        CancellationToken cancellationToken)
    {
        var counter = new BinaryCopyRowCounter();
        long bytes = 0;
        NpgsqlRawCopyStream? target = null;
        try
        {
            target = await write.BeginRawBinaryCopyAsync(copyIn, cancellationToken);
            await using (var source = await read.BeginRawBinaryCopyAsync(copyOut, cancellationToken))
            {
                var buffer = new byte[1 << 16];
                int count;
                while ((count = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    counter.Feed(buffer.AsSpan(0, count));
                    bytes += count;
                    await target.WriteAsync(buffer.AsMemory(0, count), cancellationToken);
                    context.ReportProgress(counter.Rows, bytes);
                }
            }

            // Disposing the import ends it and makes PostgreSQL check what it received.
            await target.DisposeAsync();
            target = null;
        }
        catch (PostgresException ex) when (!cancellationToken.IsCancellationRequested && TransformFailures.ToJobFailure(ex, text, prefixLength) is { } failure)
        {
            await AbortAsync(target);
            throw failure;
        }
        catch
        {
            await AbortAsync(target);
            throw;
        }

        if (!counter.Completed)
        {
            throw new InvalidOperationException("The binary COPY stream of the transform ended without its trailer.");
        }

        context.ReportProgress(counter.Rows, bytes);
        return counter.Rows;
    }

    /// <summary>Abandons an unfinished import (CopyFail), so that disposing it does not try to complete it.</summary>
    private static async Task AbortAsync(NpgsqlRawCopyStream? target)
    {
        if (target is null)
        {
            return;
        }

        try
        {
            await target.CancelAsync();
            await target.DisposeAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
        {
            // The write transaction is rolled back anyway; the original failure is the one to report.
        }
    }
}
