using System.Text.Json;

namespace DataStack.Processing.Api;

/// <summary>
/// A job a runner claimed: what to run (<c>Args</c>), which attempt of how many, the time limit of this attempt, and the
/// W3C context of the request that queued it (its span's parent and link).
/// </summary>
public sealed record RunnerJob(
    Guid Id,
    string Kind,
    JsonElement Args,
    int Attempt,
    int MaxAttempts,
    int? TimeoutSeconds,
    string? TraceParent,
    string? TraceState,
    DateTimeOffset CreatedAt);
