namespace DataStack.Processing.Ingest;

/// <summary>
/// An upload written to its spool file: where it is (<see cref="FullPath"/>; <see cref="Path"/> relative to the data
/// folder, as the ingest job's <c>args.path</c>) and, for a CSV body, ingest's first pass over it.
/// </summary>
internal sealed record SpooledUpload(string FullPath, string Path, IngestScan? Scan)
{
    /// <summary>Removes the spool file, for an upload that was not queued.</summary>
    public void Delete() => File.Delete(FullPath);
}
