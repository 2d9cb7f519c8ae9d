using System.Text.Json;

namespace DataStack.Processing.Datasets;

/// <summary>A catalog entry: what a dataset holds, where it came from, and the job that produced it.</summary>
public sealed record Dataset(
    string Name,
    IReadOnlyList<DatasetColumn> Columns,
    long RowCount,
    string Source,
    string? Checksum,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    JsonElement? Profile,
    Guid? JobId);
