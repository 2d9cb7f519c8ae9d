using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Receiving;

/// <summary>What an upload asks for, checked by the endpoint: the dataset, how it lands, the body's format and the CSV dialect.</summary>
public sealed record UploadRequest(string Dataset, IngestFormat Format, IngestMode Mode, char Delimiter, bool Header);
