using System.Text.Json;
using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Columns;

/// <summary>The header of a body in the columns format: the JSON that names and types its columns (docs/columns-format.md).</summary>
public static class ColumnsHeader
{
    /// <summary>
    /// The columns the header's JSON declares (<c>{"columns": [{"name": …, "type": …}, …]}</c>), 1 to
    /// <paramref name="maxColumns"/> of them, named by <see cref="ColumnNameRules"/> and typed by one of the seven type names.
    /// </summary>
    public static (string[] Names, ColumnType[] Types) Parse(ReadOnlySpan<byte> json, int maxColumns)
    {
        JsonElement columns;
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            if (!document.RootElement.TryGetProperty("columns", out columns) || columns.ValueKind != JsonValueKind.Array)
            {
                throw Invalid("The header must be a JSON object with a 'columns' array.");
            }

            columns = columns.Clone();
        }
        catch (JsonException ex)
        {
            throw Invalid($"The header is not valid JSON: {ex.Message}");
        }

        var count = columns.GetArrayLength();
        if (count == 0 || count > maxColumns)
        {
            throw Invalid($"The header must declare 1 to {maxColumns} columns (it declares {count}).");
        }

        var names = new string[count];
        var types = new ColumnType[count];
        var index = 0;
        foreach (var column in columns.EnumerateArray())
        {
            if (column.ValueKind != JsonValueKind.Object
                || !column.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !column.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"Column {index + 1} of the header needs a string 'name' and 'type'.", index);
            }

            names[index] = ColumnNameRules.Check(name.GetString()!, index, names, row: null);
            if (!TryParseType(type.GetString()!, out types[index]))
            {
                throw Invalid(
                    $"Column {index + 1} ('{names[index]}') has type '{type.GetString()}'; use boolean, bigint, double precision, date, timestamp, timestamptz or text.",
                    index);
            }

            index++;
        }

        return (names, types);
    }

    /// <summary>Exactly the seven type names of the format (not PostgreSQL's other spellings).</summary>
    private static bool TryParseType(string name, out ColumnType type)
    {
        foreach (var candidate in Enum.GetValues<ColumnType>())
        {
            if (candidate.ToSql() == name)
            {
                type = candidate;
                return true;
            }
        }

        type = default;
        return false;
    }

    private static IngestFormatException Invalid(string message, int? column = null) =>
        new("invalid_columns", message, column: column + 1);
}
