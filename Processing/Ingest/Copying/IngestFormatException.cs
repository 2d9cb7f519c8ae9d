using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest.Copying;

/// <summary>
/// The input of an ingest (CSV, or an upload in the columns format) is malformed or breaks a limit.
/// <see cref="Code"/> is the job error code (<c>unterminated_quote</c>, <c>ragged_row</c>, <c>invalid_columns</c>, …);
/// <see cref="Row"/> is the 1-based record number (for CSV the header is record 1; for the columns format,
/// the data row) and <see cref="Column"/> the 1-based field, where they apply.
/// </summary>
public sealed class IngestFormatException(string code, string message, long? row = null, int? column = null, long? byteOffset = null)
    : Exception(message)
{
    public string Code { get; } = code;

    public long? Row { get; } = row;

    public int? Column { get; } = column;

    /// <summary>Where in the file the record with the problem starts.</summary>
    public long? ByteOffset { get; } = byteOffset;

    /// <summary>The job error that reports it (the byte offset stays in the logs).</summary>
    public JobError ToJobError() => new(Code, Message, Row, Column);
}
