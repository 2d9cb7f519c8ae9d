using System.Text.Json.Nodes;

namespace DataStack.Processing.Profiles;

/// <summary>
/// Column statistics of a dataset, as stored on it (<c>profile</c>) and returned by the <c>profile</c> job.
/// Every property is always present; it is null where it does not apply to the column's type or where the
/// column has no non-null value.
/// </summary>
public sealed record DatasetProfile(DateTimeOffset ComputedAt, long RowCount, IReadOnlyList<ColumnProfile> Columns);

/// <summary>
/// One column's statistics. <c>Count</c> is of non-null values; <c>Distinct</c> of distinct non-null values.
/// <c>Min</c>/<c>Max</c> for numbers (JSON numbers), dates and timestamps (ISO 8601 strings; timestamptz in
/// UTC), booleans (false &lt; true) and text (code-point order, i.e. collation "C"). <c>MinLength</c>/<c>MaxLength</c>
/// (characters) for text. <c>Mean</c> and <c>Stddev</c> (sample standard deviation; null below two values) for
/// numbers; they are JSON numbers, or the strings "NaN"/"Infinity" when the data holds those. <c>Top</c>: the
/// five most frequent values with their counts, most frequent first (ties in value order), for text and booleans.
/// </summary>
public sealed record ColumnProfile(
    string Name,
    string Type,
    long Count,
    long Nulls,
    long Distinct,
    JsonNode? Min,
    JsonNode? Max,
    int? MinLength,
    int? MaxLength,
    JsonNode? Mean,
    JsonNode? Stddev,
    IReadOnlyList<TopValue>? Top);

/// <summary>A frequent value of a column and how many rows hold it.</summary>
public sealed record TopValue(JsonNode? Value, long Count);
