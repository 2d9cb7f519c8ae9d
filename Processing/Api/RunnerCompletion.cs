using System.Text.Json;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Api;

/// <summary>One job that succeeded, its result (any JSON) and, optionally, its final progress (else the last heartbeat's stays).</summary>
public sealed record RunnerCompletion(Guid Id, JsonElement? Result, JobProgress? Progress = null);
