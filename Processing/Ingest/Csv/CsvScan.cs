using System.Security.Cryptography;
using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Csv;

/// <summary>
/// What the first pass over a CSV file learned: the column names and inferred types, the number of data
/// rows, the size and the SHA-256 checksum. The first pass also validates the whole file, so the second
/// pass (the COPY) only starts on input that is known to load, and checks the file against it. For an upload it
/// runs while the body is received (<c>Receiving.UploadReceiver</c>).
/// </summary>
public sealed record CsvScan(
    IReadOnlyList<string> ColumnNames,
    IReadOnlyList<ColumnType> Types,
    IReadOnlyList<bool> AllNull,
    long Rows,
    long Bytes,
    string Checksum)
{
    /// <summary>How often (in rows) the passes report progress and look at the cancellation token.</summary>
    public const int ProgressInterval = 16_384;

    /// <summary>
    /// Reads the whole stream once. Throws <see cref="IngestFormatException"/> for malformed input, an empty
    /// file (<c>empty</c>), a file without data rows (<c>empty</c>) and bad column names.
    /// <paramref name="progress"/> is called now and then with the rows and bytes read so far.
    /// </summary>
    public static async Task<CsvScan> ScanAsync(
        Stream stream, char delimiter, bool header, Action<long, long>? progress, CancellationToken cancellationToken)
    {
        using var checksum = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var reader = new CsvReader(stream, delimiter, checksum);
        var columnNames = await ReadColumnNamesAsync(reader, header, cancellationToken);
        var inference = new TypeInference(columnNames.Count);
        long rows = 0;
        if (!header)
        {
            Observe(reader, inference);
            rows++;
        }

        while (await reader.ReadAsync(cancellationToken))
        {
            Observe(reader, inference);
            if (++rows % ProgressInterval == 0)
            {
                progress?.Invoke(rows, reader.BytesConsumed);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        if (rows == 0)
        {
            throw new IngestFormatException("empty", "The file has a header but no data rows.", row: 2);
        }

        progress?.Invoke(rows, reader.BytesConsumed);
        var types = new ColumnType[columnNames.Count];
        var allNull = new bool[columnNames.Count];
        for (var i = 0; i < types.Length; i++)
        {
            types[i] = inference.Result(i);
            allNull[i] = inference.IsAllNull(i);
        }

        return new CsvScan(columnNames, types, allNull, rows, reader.BytesConsumed, "sha256:" + Convert.ToHexStringLower(checksum.GetHashAndReset()));
    }

    /// <summary>
    /// Reads the first record and returns the column names: the header's fields, or <c>column_1</c> …
    /// <c>column_n</c> without a header (the first record then stays current: it is data).
    /// Header names follow <see cref="ColumnNameRules"/>.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ReadColumnNamesAsync(CsvReader reader, bool header, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new IngestFormatException("empty", "The file is empty.");
        }

        var names = new string[reader.FieldCount];
        if (!header)
        {
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = $"column_{i + 1}";
            }

            return names;
        }

        for (var i = 0; i < names.Length; i++)
        {
            names[i] = ColumnNameRules.Check(CsvValues.ToText(reader[i]), i, names, reader.RecordNumber);
        }

        return names;
    }

    private static void Observe(CsvReader reader, TypeInference inference)
    {
        for (var i = 0; i < inference.ColumnCount; i++)
        {
            inference.Observe(i, reader[i]);
        }
    }
}
