namespace DataStack.Processing.Ingest.Copying;

/// <summary>
/// An upload whose rows its request copied into <see cref="Table"/> (schema <c>datasets</c>, a name no dataset can
/// have), committed in the same transaction that queued its job: the handoff from the request to the job is this
/// table, on whichever replica the job runs. <see cref="Bytes"/> and <see cref="Checksum"/> describe the body.
/// </summary>
public sealed record StagedUpload(string Table, long Rows, long Bytes, string Checksum)
{
    /// <summary>Staged tables are <c>upload-{32 hex digits}</c>: the dash keeps them apart from every dataset name.</summary>
    public const string Prefix = "upload-";

    public static string NewTableName() => Prefix + Guid.NewGuid().ToString("N");

    /// <summary>Whether <paramref name="table"/> has the form of a staged table's name (what a job may swap in).</summary>
    public static bool IsTableName(string? table) =>
        table is { Length: 39 } && table.StartsWith(Prefix, StringComparison.Ordinal) && table.AsSpan(Prefix.Length).ContainsAnyExcept("0123456789abcdef") is false;
}
