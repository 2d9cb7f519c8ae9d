using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataStack.Processing.Jobs;

/// <summary>A job as the API shows it.</summary>
public sealed record Job(
    Guid Id,
    string Kind,
    JobStatus Status,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    JobProgress Progress,
    JsonElement Args,
    JsonElement? Result,
    JobError? Error,
    string? TraceId,
    string? IdempotencyKey);

/// <summary>How far a running job has got: rows and bytes processed so far.</summary>
public sealed record JobProgress(long Rows, long Bytes);

/// <summary>
/// Why a job failed. <c>Row</c> and <c>Column</c> (1-based) point into the input where that applies; <c>Type</c> and
/// <c>Traceback</c> are an exception's, for code a runner ran (a Python job).
/// </summary>
public sealed record JobError(
    string Code,
    string Message,
    long? Row = null,
    int? Column = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Traceback = null)
{
    /// <summary>" at row 3, column 2", " at row 3", " at column 2" or "": where the error is, for a log line.</summary>
    [JsonIgnore]
    public string Position => (Row, Column) switch
    {
        ({ } row, { } column) => $" at row {row}, column {column}",
        ({ } row, null) => $" at row {row}",
        (null, { } column) => $" at column {column}",
        _ => "",
    };
}
