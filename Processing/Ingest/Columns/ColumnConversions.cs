using System.Globalization;
using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Columns;

/// <summary>
/// How a value of an upload in the columns format is written into a column of type <c>target</c>: as
/// itself, or — when appending to a dataset whose column has another type — converted the way ingest's
/// <c>Fits</c> allows for CSV (bigint → double precision, date → timestamp, anything → text). Any other pair
/// fails on its first non-NULL value (<c>schema_mismatch</c>, with row and column).
/// </summary>
internal static class ColumnConversions
{
    /// <summary>The most bytes a non-text value takes in binary COPY or as text (a timestamptz in ISO 8601 is 32).</summary>
    public const int MaxValueBytes = 40;

    private const string IsoTimestamp = "yyyy-MM-dd'T'HH:mm:ss.ffffff";

    public static void Write(BinaryCopyBuffer output, bool value, ColumnType target, ColumnsReader reader, int column, int row)
    {
        switch (target)
        {
            case ColumnType.Boolean: output.WriteBoolean(value); break;
            case ColumnType.Text: output.WriteText(value ? "true"u8 : "false"u8); break;
            default: throw reader.Mismatch(column, row, target);
        }
    }

    public static void Write(BinaryCopyBuffer output, long value, ColumnType target, ColumnsReader reader, int column, int row)
    {
        switch (target)
        {
            case ColumnType.Bigint: output.WriteInt64(value); break;
            case ColumnType.DoublePrecision: output.WriteDouble(value); break;
            case ColumnType.Text: WriteText(output, value, format: null); break;
            default: throw reader.Mismatch(column, row, target);
        }
    }

    public static void Write(BinaryCopyBuffer output, double value, ColumnType target, ColumnsReader reader, int column, int row)
    {
        switch (target)
        {
            case ColumnType.DoublePrecision: output.WriteDouble(value); break;
            case ColumnType.Text: WriteText(output, value, "R"); break;
            default: throw reader.Mismatch(column, row, target);
        }
    }

    public static void Write(BinaryCopyBuffer output, DateOnly value, ColumnType target, ColumnsReader reader, int column, int row)
    {
        switch (target)
        {
            case ColumnType.Date: output.WriteDate(value); break;
            case ColumnType.Timestamp: output.WriteTimestamp(value.ToDateTime(TimeOnly.MinValue)); break;
            case ColumnType.Text: WriteText(output, value, "yyyy-MM-dd"); break;
            default: throw reader.Mismatch(column, row, target);
        }
    }

    /// <summary>A timestamp (<see cref="DateTimeKind.Unspecified"/>) or a timestamptz instant (<see cref="DateTimeKind.Utc"/>).</summary>
    public static void Write(BinaryCopyBuffer output, DateTime value, ColumnType target, ColumnsReader reader, int column, int row)
    {
        var source = value.Kind == DateTimeKind.Utc ? ColumnType.TimestampTz : ColumnType.Timestamp;
        if (target == source)
        {
            output.WriteTimestamp(value);
        }
        else if (target == ColumnType.Text)
        {
            WriteText(output, value, source == ColumnType.TimestampTz ? IsoTimestamp + "'+00:00'" : IsoTimestamp);
        }
        else
        {
            throw reader.Mismatch(column, row, target);
        }
    }

    private static void WriteText<T>(BinaryCopyBuffer output, T value, string? format)
        where T : IUtf8SpanFormattable
    {
        Span<byte> text = stackalloc byte[MaxValueBytes];
        value.TryFormat(text, out var written, format, CultureInfo.InvariantCulture);
        output.WriteText(text[..written]);
    }
}
