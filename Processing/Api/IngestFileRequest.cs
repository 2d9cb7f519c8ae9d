namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /datasets/{name}/ingest</c>.</summary>
public sealed record IngestFileRequest(string? Path, string? Mode, string? Delimiter, bool? Header);
