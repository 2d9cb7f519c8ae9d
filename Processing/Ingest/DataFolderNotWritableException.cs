namespace DataStack.Processing.Ingest;

/// <summary>
/// The data folder's <c>.uploads</c> folder cannot be created or written: a deployment problem (a volume owned by
/// another user, a read-only mount, a file where the folder should be), answered as a 500 that says so.
/// </summary>
public sealed class DataFolderNotWritableException(Exception inner)
    : Exception(PublicMessage, inner)
{
    /// <summary>What the client is told; the folder's path and the system's reason stay in the server's log.</summary>
    public const string PublicMessage =
        "Uploads are spooled to the .uploads folder of the data folder (Processing:DataDir), which this process cannot create or write. "
        + "Give the user Processing runs as write access to the data folder (the deploy image runs as UID 1654).";
}
