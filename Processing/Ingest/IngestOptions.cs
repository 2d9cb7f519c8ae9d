using System.ComponentModel.DataAnnotations;

namespace DataStack.Processing.Ingest;

/// <summary>Where ingest reads files and how large an upload may be, bound from the <c>Processing</c> section.</summary>
public sealed class IngestOptions
{
    public const string SectionName = "Processing";

    /// <summary>
    /// The data folder <c>POST /datasets/{name}/ingest</c> reads files from (paths are relative to it; <c>/data</c> in
    /// containers). Optional: uploads never touch it, and where it does not exist that route answers 422.
    /// </summary>
    [Required]
    public string DataDir { get; set; } = "data";

    /// <summary>Largest accepted upload body, in bytes (default 4 GiB). Larger uploads get 413.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 4L * 1024 * 1024 * 1024;
}
