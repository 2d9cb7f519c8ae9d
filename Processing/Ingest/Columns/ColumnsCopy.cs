using DataStack.Processing.Ingest.Copying;
using Npgsql;

namespace DataStack.Processing.Ingest.Columns;

/// <summary>
/// The one pass over an upload in the columns format: batch by batch, each row encoded into binary COPY
/// (the types are declared, so nothing is inferred and nothing is read twice). Memory: one batch and one
/// 64 KiB COPY buffer.
/// </summary>
public static class ColumnsCopy
{
    /// <summary>
    /// Copies the batches of <paramref name="reader"/> (whose header has been read) into
    /// <paramref name="qualifiedTable"/> on the caller's connection and transaction, each column written as
    /// <paramref name="targets"/> says (<see cref="BinaryCopyBuffer.CopyAsync"/>: anything thrown cancels the COPY;
    /// <paramref name="freeze"/> for a table created in this transaction).
    /// Returns the number of rows copied.
    /// </summary>
    public static async Task<long> CopyAsync(
        NpgsqlConnection connection,
        string qualifiedTable,
        ColumnsReader reader,
        IReadOnlyList<ColumnType> targets,
        bool freeze,
        Action<long, long>? progress,
        CancellationToken cancellationToken)
    {
        var targetTypes = targets.ToArray();
        await BinaryCopyBuffer.CopyAsync(connection, qualifiedTable, reader.ColumnNames, freeze, async (output, copyStream) =>
        {
            while (await reader.ReadBatchAsync(cancellationToken))
            {
                var row = EncodeRows(reader, 0, targetTypes, output);
                while (row < reader.BatchRows)
                {
                    await output.FlushAsync(copyStream, cancellationToken);
                    output.EnsureCapacity(reader.MaxRowBytes(row));
                    row = EncodeRows(reader, row, targetTypes, output);
                }

                progress?.Invoke(reader.RowsBefore + reader.BatchRows, reader.BytesConsumed);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }, cancellationToken);

        return reader.RowsBefore;
    }

    /// <summary>Encodes rows of the current batch from <paramref name="row"/> on while they fit; returns the first row not encoded.</summary>
    private static int EncodeRows(ColumnsReader reader, int row, ColumnType[] targets, BinaryCopyBuffer output)
    {
        for (; row < reader.BatchRows && output.HasRoomFor(reader.MaxRowBytes(row)); row++)
        {
            reader.WriteRow(row, targets, output);
        }

        return row;
    }
}
