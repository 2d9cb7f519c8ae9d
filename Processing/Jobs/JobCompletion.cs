using System.Text.Json.Nodes;

namespace DataStack.Processing.Jobs;

/// <summary>A job's success, waiting to be written (see <see cref="JobCompletionWriter"/>).</summary>
public sealed record JobCompletion(Guid Id, JsonNode? Result, JobProgress Progress);
