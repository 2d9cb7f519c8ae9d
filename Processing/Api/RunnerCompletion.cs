using System.Text.Json;

namespace DataStack.Processing.Api;

/// <summary>One job that succeeded, and its result (any JSON).</summary>
public sealed record RunnerCompletion(Guid Id, JsonElement? Result);
