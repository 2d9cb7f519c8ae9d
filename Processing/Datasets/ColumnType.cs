using System.Text.Json.Serialization;
using NpgsqlTypes;

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

    public static NpgsqlDbType ToNpgsqlDbType(this ColumnType type) => type switch
    {
        ColumnType.Boolean => NpgsqlDbType.Boolean,
        ColumnType.Bigint => NpgsqlDbType.Bigint,
        ColumnType.DoublePrecision => NpgsqlDbType.Double,
        ColumnType.Date => NpgsqlDbType.Date,
        ColumnType.Timestamp => NpgsqlDbType.Timestamp,
        ColumnType.TimestampTz => NpgsqlDbType.TimestampTz,
        ColumnType.Text => NpgsqlDbType.Text,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Maps a PostgreSQL type name (as <c>format_type</c> prints it) to a column type; anything else is text.</summary>
    public static ColumnType FromSql(string sqlType) => sqlType switch
    {
        "boolean" => ColumnType.Boolean,
        "bigint" or "integer" or "smallint" => ColumnType.Bigint,
        "double precision" or "real" or "numeric" => ColumnType.DoublePrecision,
        "date" => ColumnType.Date,
        "timestamp without time zone" or "timestamp" => ColumnType.Timestamp,
        "timestamp with time zone" or "timestamptz" => ColumnType.TimestampTz,
        _ => ColumnType.Text,
    };
}
