using System.Text.Json.Nodes;

namespace DataStack.Processing.Jobs;

/// <summary>
/// A job's success, to be written by <see cref="JobCompletionWriter"/>: its result and its final progress (null keeps
/// the progress last reported while it ran).
/// </summary>
public sealed record JobCompletion(Guid Id, JsonNode? Result, JobProgress? Progress);
