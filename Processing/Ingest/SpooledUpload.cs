namespace DataStack.Processing.Ingest;

/// <summary>
/// An upload written to its spool file: where it is (<see cref="FullPath"/>; <see cref="Path"/> relative to the data
/// folder, as the ingest job's <c>args.path</c>), for a CSV body ingest's first pass over it, and for a columns body
/// the staged table it was copied into as it arrived, if it was (its transaction still open: queue the job in it).
/// </summary>
internal sealed record SpooledUpload(string FullPath, string Path, IngestScan? Scan, UploadStaging? Staging = null)
{
    /// <summary>Removes the spool file, for an upload that was not queued.</summary>
    public void Delete() => File.Delete(FullPath);
}
