using System.Text.Json;

namespace DataStack.Processing.Jobs;

/// <summary>A job this replica has just claimed.</summary>
public sealed record ClaimedJob(
    Guid Id, string Kind, JsonElement Args, int Attempt, int MaxAttempts, string? TraceParent, string? TraceState, DateTimeOffset CreatedAt);
