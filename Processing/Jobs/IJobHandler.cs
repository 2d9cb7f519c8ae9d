using System.Text.Json;
using System.Text.Json.Nodes;

namespace DataStack.Processing.Jobs;

/// <summary>Runs one kind of job. Handlers are singletons; everything per-run comes in <see cref="JobContext"/>.</summary>
public interface IJobHandler
{
    string Kind { get; }

    /// <summary>
    /// Checks a job's arguments at submission, so bad ones get a 400 instead of a failed job.
    /// Returns the problems by argument name; empty when the arguments are fine.
    /// </summary>
    IReadOnlyDictionary<string, string[]> Validate(JsonElement args);

    /// <summary>Runs the job. Returns its result (stored as JSON) or throws <see cref="JobFailedException"/>.</summary>
    Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken);
}
