using DataStack.Processing.Datasets;
using Npgsql;
using NpgsqlTypes;

namespace DataStack.Processing.Ingest;

/// <summary>
/// The second pass over a CSV file: converts every field to its column's type and streams the rows into a
/// table with Npgsql binary COPY. Memory stays flat: one record at a time, no per-value allocation but the
/// strings of text columns.
/// </summary>
public static class IngestCopy
{
    /// <summary>
    /// Copies the file into <paramref name="qualifiedTable"/> on the caller's connection (and transaction).
    /// The COPY is completed only if the file still reads as the first pass saw it (the same number of rows
    /// and bytes, every value convertible); otherwise it throws <see cref="CsvFormatException"/> with code
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
        IngestScan expected,
        Action<long, long>? progress,
        CancellationToken cancellationToken)
    {
        var columnList = string.Join(", ", columnNames.Select(DatasetName.QuoteIdentifier));
        var copy = $"COPY {qualifiedTable} ({columnList}) FROM STDIN (FORMAT BINARY)";
        var columnTypes = types.ToArray();
        var dbTypes = columnTypes.Select(t => t.ToNpgsqlDbType()).ToArray();
        var values = new RowValues(columnTypes.Length);

        using var reader = new CsvReader(stream, delimiter);
        if (header && !await reader.ReadAsync(cancellationToken))
        {
            throw FileChanged("The file no longer has a header.");
        }

        // Anything thrown before CompleteAsync (here or by the caller's token) aborts the COPY.
        await using var importer = await connection.BeginBinaryImportAsync(copy, cancellationToken);
        long rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            if (reader.FieldCount != columnTypes.Length)
            {
                throw FileChanged($"Record {reader.RecordNumber} no longer has {columnTypes.Length} fields.");
            }

            Convert(reader, columnTypes, values);
            await importer.StartRowAsync(cancellationToken);
            for (var i = 0; i < columnTypes.Length; i++)
            {
                await WriteAsync(importer, values, i, columnTypes[i], dbTypes[i], cancellationToken);
            }

            if (++rows % IngestScan.ProgressInterval == 0)
            {
                progress?.Invoke(rows, reader.BytesConsumed);
            }
        }

        if (rows != expected.Rows || reader.BytesConsumed != expected.Bytes)
        {
            throw FileChanged($"It now has {rows} rows and {reader.BytesConsumed} bytes; the first pass read {expected.Rows} and {expected.Bytes}.");
        }

        progress?.Invoke(rows, reader.BytesConsumed);
        await importer.CompleteAsync(cancellationToken);
        return rows;
    }

    /// <summary>Parses the current record into <paramref name="values"/> (spans cannot live across an await).</summary>
    private static void Convert(CsvReader reader, ColumnType[] types, RowValues values)
    {
        for (var i = 0; i < types.Length; i++)
        {
            var field = reader[i];
            values.IsNull[i] = field.IsEmpty;
            if (field.IsEmpty)
            {
                continue;
            }

            bool converted;
            switch (types[i])
            {
                case ColumnType.Boolean:
                    converted = CsvValues.TryParseBoolean(field, out values.Booleans[i]);
                    break;
                case ColumnType.Bigint:
                    converted = CsvValues.TryParseBigint(field, out values.Integers[i]);
                    break;
                case ColumnType.DoublePrecision:
                    converted = CsvValues.TryParseDouble(field, out values.Doubles[i]);
                    break;
                case ColumnType.Date:
                    converted = CsvValues.TryParseDateTime(field, out var date, out var dateKind) && dateKind == ColumnType.Date;
                    values.Dates[i] = DateOnly.FromDateTime(date);
                    break;
                case ColumnType.Timestamp:
                    converted = CsvValues.TryParseDateTime(field, out values.Timestamps[i], out var kind) && kind is ColumnType.Date or ColumnType.Timestamp;
                    break;
                case ColumnType.TimestampTz:
                    converted = CsvValues.TryParseDateTime(field, out values.Timestamps[i], out var tzKind) && tzKind == ColumnType.TimestampTz;
                    break;
                default:
                    values.Texts[i] = CsvValues.ToText(field);
                    converted = true;
                    break;
            }

            if (!converted)
            {
                throw FileChanged($"Record {reader.RecordNumber}, field {i + 1} is no longer a {types[i].ToSql()}.", reader.RecordNumber, i + 1);
            }
        }
    }

    private static Task WriteAsync(
        NpgsqlBinaryImporter importer, RowValues values, int i, ColumnType type, NpgsqlDbType dbType, CancellationToken cancellationToken)
    {
        if (values.IsNull[i])
        {
            return importer.WriteNullAsync(cancellationToken);
        }

        return type switch
        {
            ColumnType.Boolean => importer.WriteAsync(values.Booleans[i], dbType, cancellationToken),
            ColumnType.Bigint => importer.WriteAsync(values.Integers[i], dbType, cancellationToken),
            ColumnType.DoublePrecision => importer.WriteAsync(values.Doubles[i], dbType, cancellationToken),
            ColumnType.Date => importer.WriteAsync(values.Dates[i], dbType, cancellationToken),
            ColumnType.Timestamp or ColumnType.TimestampTz => importer.WriteAsync(values.Timestamps[i], dbType, cancellationToken),
            _ => importer.WriteAsync(values.Texts[i], dbType, cancellationToken),
        };
    }

    private static CsvFormatException FileChanged(string detail, long? row = null, int? column = null) =>
        new("file_changed", $"The file changed while it was being ingested: {detail}", row, column);

    /// <summary>One record's converted values, by column; only the array of the column's type is used.</summary>
    private sealed class RowValues(int columns)
    {
        public bool[] IsNull { get; } = new bool[columns];

        public bool[] Booleans { get; } = new bool[columns];

        public long[] Integers { get; } = new long[columns];

        public double[] Doubles { get; } = new double[columns];

        public DateOnly[] Dates { get; } = new DateOnly[columns];

        public DateTime[] Timestamps { get; } = new DateTime[columns];

        public string?[] Texts { get; } = new string?[columns];
    }
}
