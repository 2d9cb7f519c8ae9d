using DataStack.Processing.Ingest.Copying;
using Npgsql;

namespace DataStack.Processing.Ingest.Csv;

/// <summary>
/// The second pass over a CSV file: converts every field to its column's type and streams the rows into a
/// table with binary COPY (an explicit column list; the types are the table's). Memory stays flat: one
/// 64 KiB buffer of encoded rows, no per-value allocation.
/// </summary>
public static class CsvCopy
{
    /// <summary>
    /// Copies the file into <paramref name="qualifiedTable"/> on the caller's connection (and transaction).
    /// The COPY is completed only if the file still reads as the first pass saw it (the same number of rows
    /// and bytes, every value convertible); otherwise it throws <see cref="IngestFormatException"/> with code
    /// <c>file_changed</c> and the COPY is aborted. <paramref name="types"/> are the target columns' types;
    /// <paramref name="progress"/> is called now and then with the rows copied and bytes read so far.
    /// Returns the number of rows copied.
    /// </summary>
    public static async Task<long> CopyAsync(
        NpgsqlConnection connection,
        string qualifiedTable,
        IReadOnlyList<string> columnNames,
        IReadOnlyList<ColumnType> types,
        Stream stream,
        char delimiter,
        bool header,
        CsvScan expected,
        bool freeze,
        Action<long, long>? progress,
        CancellationToken cancellationToken)
    {
        var columnTypes = types.ToArray();
        using var reader = new CsvReader(stream, delimiter);
        if (header && !await reader.ReadAsync(cancellationToken))
        {
            throw FileChanged("The file no longer has a header.");
        }

        // The rows are encoded in PostgreSQL's binary COPY format straight from the CSV bytes: no value is
        // boxed, bound or turned into a string on the way (Npgsql's per-value importer calls were a third
        // of ingest's CPU).
        long rows = 0;
        await BinaryCopyBuffer.CopyAsync(connection, qualifiedTable, columnNames, freeze, async (output, copyStream) =>
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (reader.FieldCount != columnTypes.Length)
                {
                    throw FileChanged($"Record {reader.RecordNumber} no longer has {columnTypes.Length} fields.");
                }

                var rowBytes = MaxRowBytes(reader);
                if (!output.HasRoomFor(rowBytes))
                {
                    await output.FlushAsync(copyStream, cancellationToken);
                    output.EnsureCapacity(rowBytes);
                }

                EncodeRow(reader, columnTypes, output);
                if (++rows % CsvScan.ProgressInterval == 0)
                {
                    progress?.Invoke(rows, reader.BytesConsumed);
                }
            }

            if (rows != expected.Rows || reader.BytesConsumed != expected.Bytes)
            {
                throw FileChanged($"It now has {rows} rows and {reader.BytesConsumed} bytes; the first pass read {expected.Rows} and {expected.Bytes}.");
            }

            progress?.Invoke(rows, reader.BytesConsumed);
        }, cancellationToken);

        return rows;
    }

    /// <summary>An upper bound of the current record's encoded size: 8 bytes for any binary value, the bytes themselves for text.</summary>
    private static int MaxRowBytes(CsvReader record)
    {
        var bytes = 2 + 2; // field count, and room for the trailer
        for (var i = 0; i < record.FieldCount; i++)
        {
            bytes += 4 + Math.Max(8, record[i].Length);
        }

        return bytes;
    }

    /// <summary>Converts the current record and appends it to <paramref name="output"/> (spans cannot live across an await).</summary>
    private static void EncodeRow(CsvReader reader, ColumnType[] types, BinaryCopyBuffer output)
    {
        output.StartRow();
        for (var i = 0; i < types.Length; i++)
        {
            var field = reader[i];
            if (field.IsEmpty)
            {
                output.WriteNull();
                continue;
            }

            bool converted;
            switch (types[i])
            {
                case ColumnType.Boolean:
                    converted = CsvValues.TryParseBoolean(field, out var boolean);
                    output.WriteBoolean(boolean);
                    break;
                case ColumnType.Bigint:
                    converted = CsvValues.TryParseBigint(field, out var integer);
                    output.WriteInt64(integer);
                    break;
                case ColumnType.DoublePrecision:
                    converted = CsvValues.TryParseDouble(field, out var number);
                    output.WriteDouble(number);
                    break;
                case ColumnType.Date:
                    converted = CsvValues.TryParseDateTime(field, out var date, out var dateKind) && dateKind == ColumnType.Date;
                    output.WriteDate(DateOnly.FromDateTime(date));
                    break;
                case ColumnType.Timestamp:
                    converted = CsvValues.TryParseDateTime(field, out var timestamp, out var kind) && kind is ColumnType.Date or ColumnType.Timestamp;
                    output.WriteTimestamp(timestamp);
                    break;
                case ColumnType.TimestampTz:
                    converted = CsvValues.TryParseDateTime(field, out var instant, out var tzKind) && tzKind == ColumnType.TimestampTz;
                    output.WriteTimestamp(instant);
                    break;
                default:
                    output.WriteText(field); // UTF-8 already, validated by the reader
                    converted = true;
                    break;
            }

            if (!converted)
            {
                throw FileChanged($"Record {reader.RecordNumber}, field {i + 1} is no longer a {types[i].ToSql()}.", reader.RecordNumber, i + 1);
            }
        }
    }

    private static IngestFormatException FileChanged(string detail, long? row = null, int? column = null) =>
        new("file_changed", $"The file changed while it was being ingested: {detail}", row, column);
}
