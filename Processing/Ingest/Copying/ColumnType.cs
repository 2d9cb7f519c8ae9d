using System.Text.Json.Serialization;

namespace DataStack.Processing.Ingest.Copying;

/// <summary>The column types ingest infers, narrowest first. In JSON, their SQL names.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ColumnType>))]
public enum ColumnType
{
    [JsonStringEnumMemberName("boolean")]
    Boolean,

    [JsonStringEnumMemberName("bigint")]
    Bigint,

    [JsonStringEnumMemberName("double precision")]
    DoublePrecision,

    [JsonStringEnumMemberName("date")]
    Date,

    [JsonStringEnumMemberName("timestamp")]
    Timestamp,

    [JsonStringEnumMemberName("timestamptz")]
    TimestampTz,

    [JsonStringEnumMemberName("text")]
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

    /// <summary>
    /// The ingest type of a column PostgreSQL reports as <paramref name="sqlType"/>: exactly the types ingest
    /// writes (binary COPY needs the exact type: no integer, numeric, varchar…).
    /// </summary>
    public static bool TryParseSql(string sqlType, out ColumnType type)
    {
        (var known, type) = sqlType switch
        {
            "boolean" => (true, ColumnType.Boolean),
            "bigint" => (true, ColumnType.Bigint),
            "double precision" => (true, ColumnType.DoublePrecision),
            "date" => (true, ColumnType.Date),
            "timestamp without time zone" or "timestamp" => (true, ColumnType.Timestamp),
            "timestamp with time zone" or "timestamptz" => (true, ColumnType.TimestampTz),
            "text" => (true, ColumnType.Text),
            _ => (false, ColumnType.Text),
        };
        return known;
    }
}
