using Npgsql;

namespace DataStack.Processing.Ingest.Copying;

/// <summary>
/// What an ingest loads, whatever its format: the column names and types, which columns held only NULLs
/// (null when not known before the copy), the record holding the names (for errors), how to copy the rows
/// into a table of the given types (frozen when the table was created in the copy's transaction), and the
/// input's size and checksum once it has been copied.
/// </summary>
internal sealed record IngestSource(
    IReadOnlyList<string> ColumnNames,
    IReadOnlyList<ColumnType> Types,
    IReadOnlyList<bool>? AllNull,
    long? HeaderRow,
    Func<NpgsqlConnection, string, IReadOnlyList<ColumnType>, bool, CancellationToken, Task<long>> CopyAsync,
    Func<(long Bytes, string Checksum)> Totals);
