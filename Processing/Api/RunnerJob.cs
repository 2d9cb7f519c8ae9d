using System.Text.Json;

namespace DataStack.Processing.Api;

/// <summary>
/// A job a runner claimed: what to run (<c>Args</c>), which attempt of how many, the time limit of this attempt, the
/// W3C context of the request that queued it, and <c>TraceMode</c> (<c>Processing:JobTraceMode</c>): <c>child</c>, the
/// job's span is that request's child, or <c>newTrace</c>, it starts a trace of its own; linked to the request either way.
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
    string TraceMode,
    DateTimeOffset CreatedAt);
