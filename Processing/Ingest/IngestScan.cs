using System.Security.Cryptography;
using System.Text;
using DataStack.Processing.Datasets;

namespace DataStack.Processing.Ingest;

/// <summary>
/// What the first pass over a CSV file learned: the column names and inferred types, the number of data
/// rows, the size and the SHA-256 checksum. The first pass also validates the whole file, so the second
/// pass (the COPY) only starts on input that is known to load, and checks the file against it. For an upload it
/// runs while the body is received (<see cref="UploadReceiver"/>).
/// </summary>
public sealed record IngestScan(
    IReadOnlyList<string> ColumnNames,
    IReadOnlyList<ColumnType> Types,
    IReadOnlyList<bool> AllNull,
    long Rows,
    long Bytes,
    string Checksum)
{
    /// <summary>PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1).</summary>
    public const int MaxColumnNameBytes = 63;

    /// <summary>How often (in rows) the passes report progress and look at the cancellation token.</summary>
    public const int ProgressInterval = 16_384;

    /// <summary>
    /// Reads the whole stream once. Throws <see cref="IngestFormatException"/> for malformed input, an empty
    /// file (<c>empty</c>), a file without data rows (<c>empty</c>) and bad column names.
    /// <paramref name="progress"/> is called now and then with the rows and bytes read so far.
    /// </summary>
    public static async Task<IngestScan> ScanAsync(
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

        return new IngestScan(columnNames, types, allNull, rows, reader.BytesConsumed, "sha256:" + Convert.ToHexStringLower(checksum.GetHashAndReset()));
    }

    /// <summary>
    /// Reads the first record and returns the column names: the header's fields, or <c>column_1</c> …
    /// <c>column_n</c> without a header (the first record then stays current: it is data).
    /// Header names are trimmed of surrounding whitespace and otherwise kept as written (they become quoted
    /// identifiers, so case matters); they must be non-empty, at most 63 bytes, and distinct (case-sensitively).
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
            names[i] = CheckColumnName(CsvValues.ToText(reader[i]), i, names, reader.RecordNumber);
        }

        return names;
    }

    /// <summary>
    /// The column name <paramref name="raw"/> trimmed, checked against the rules above and against the names
    /// before it in <paramref name="names"/> (filled up to <paramref name="index"/>); throws
    /// <see cref="IngestFormatException"/> (<c>empty_column_name</c>, <c>column_name_too_long</c>, <c>duplicate_column</c>).
    /// </summary>
    public static string CheckColumnName(string raw, int index, string[] names, long? row)
    {
        var name = raw.Trim();
        if (name.Length == 0)
        {
            throw new IngestFormatException("empty_column_name", $"Column {index + 1} of the header has no name.", row, index + 1);
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxColumnNameBytes)
        {
            throw new IngestFormatException(
                "column_name_too_long",
                $"The name of column {index + 1} is longer than {MaxColumnNameBytes} bytes (PostgreSQL's identifier limit).",
                row,
                index + 1);
        }

        var earlier = Array.IndexOf(names, name, 0, index);
        if (earlier >= 0)
        {
            throw new IngestFormatException(
                "duplicate_column", $"Column {index + 1} of the header repeats the name '{name}' (column {earlier + 1}).", row, index + 1);
        }

        return name;
    }

    private static void Observe(CsvReader reader, TypeInference inference)
    {
        for (var i = 0; i < inference.ColumnCount; i++)
        {
            inference.Observe(i, reader[i]);
        }
    }
}
