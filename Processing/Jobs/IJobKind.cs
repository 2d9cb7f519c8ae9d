using System.Text.Json;

namespace DataStack.Processing.Jobs;

/// <summary>
/// A kind of job the queue accepts: its name, the queue its jobs go to, how its arguments are checked and the time
/// limit of an attempt. The kinds this service runs are <see cref="IJobHandler"/>s (queue <see cref="JobQueues.Processing"/>);
/// a kind run elsewhere (by runners, through <see cref="RunnerLeases"/>) names its own queue.
/// </summary>
public interface IJobKind
{
    string Kind { get; }

    /// <summary>The queue this kind's jobs go to when they are queued.</summary>
    string Queue => JobQueues.Processing;

    /// <summary>
    /// Checks a job's arguments at submission, so bad ones get a 400 instead of a failed job.
    /// Returns the problems by argument name; empty when the arguments are fine.
    /// </summary>
    IReadOnlyDictionary<string, string[]> Validate(JsonElement args);

    /// <summary>The time limit of one attempt of a job with these (valid) arguments, stored with it; null for none.</summary>
    int? TimeoutSeconds(JsonElement args) => null;
}
