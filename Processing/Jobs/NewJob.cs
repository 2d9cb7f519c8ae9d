using System.Text.Json;

namespace DataStack.Processing.Jobs;

/// <summary>A job about to be queued: its kind and queue, arguments, idempotency key, attempt budget and time limit.</summary>
public sealed record NewJob(string Kind, string Queue, JsonElement Args, string? IdempotencyKey, int MaxAttempts, int? TimeoutSeconds);
