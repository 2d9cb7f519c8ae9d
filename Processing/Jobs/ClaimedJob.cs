using System.Text.Json;

namespace DataStack.Processing.Jobs;

/// <summary>A job just claimed, by this replica's worker or by a runner.</summary>
public sealed record ClaimedJob(
    Guid Id, string Kind, JsonElement Args, int Attempt, int MaxAttempts, string? TraceParent, string? TraceState, DateTimeOffset CreatedAt, int? TimeoutSeconds = null);
