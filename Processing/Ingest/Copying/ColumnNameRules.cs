using System.Text;

namespace DataStack.Processing.Ingest.Copying;

/// <summary>
/// The names an ingest gives a table's columns, whatever the input's format: a CSV header's fields or a columns body's
/// header, trimmed of surrounding whitespace and otherwise kept as written (they become quoted identifiers, so case
/// matters); non-empty, at most <see cref="MaxBytes"/> bytes, and distinct (case-sensitively).
/// </summary>
public static class ColumnNameRules
{
    /// <summary>PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1).</summary>
    public const int MaxBytes = 63;

    /// <summary>
    /// The column name <paramref name="raw"/> trimmed, checked against these rules and against the names
    /// before it in <paramref name="names"/> (filled up to <paramref name="index"/>); throws
    /// <see cref="IngestFormatException"/> (<c>empty_column_name</c>, <c>column_name_too_long</c>, <c>duplicate_column</c>).
    /// </summary>
    public static string Check(string raw, int index, string[] names, long? row)
    {
        var name = raw.Trim();
        if (name.Length == 0)
        {
            throw new IngestFormatException("empty_column_name", $"Column {index + 1} of the header has no name.", row, index + 1);
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxBytes)
        {
            throw new IngestFormatException(
                "column_name_too_long",
                $"The name of column {index + 1} is longer than {MaxBytes} bytes (PostgreSQL's identifier limit).",
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
}
