namespace DataStack.Processing.Ingest;

/// <summary>
/// An upload in the columns format already copied, while its body arrived, into <see cref="Table"/> (schema
/// <c>datasets</c>, a name no dataset can have), committed in the same transaction that queued its job. The
/// job only swaps it in; the spool file stays the contract (the job loads it when the table is gone).
/// </summary>
public sealed record StagedUpload(string Table, long Rows, long Bytes, string Checksum)
{
    /// <summary>Staged tables are <c>upload-{spool file id}</c>: the dash keeps them apart from every dataset name.</summary>
    public const string Prefix = "upload-";

    public static string TableFor(string spoolFileName) => Prefix + System.IO.Path.GetFileNameWithoutExtension(spoolFileName);
}
