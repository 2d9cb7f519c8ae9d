using System.Text.Json.Serialization;

namespace DataStack.Processing.Datasets;

/// <summary>The column types ingest infers, narrowest first.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ColumnType>))]
public enum ColumnType
{
    Boolean,
    Bigint,
    DoublePrecision,
    Date,
    Timestamp,
    TimestampTz,
    Text,
}

public static class ColumnTypes
{
    public static string ToSql(this ColumnType type) => type switch
    {
        ColumnType.Boolean => "boolean",
        ColumnType.Bigint => "bigint",
        ColumnType.DoublePrecision => "double precision",
        ColumnType.Date => "date",
        ColumnType.Timestamp => "timestamp",
        ColumnType.TimestampTz => "timestamptz",
        ColumnType.Text => "text",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
