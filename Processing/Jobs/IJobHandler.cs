using System.Text.Json.Nodes;

namespace DataStack.Processing.Jobs;

/// <summary>
/// Runs one kind of job. Handlers are singletons; everything per run comes in <see cref="JobContext"/>. A feature
/// registers its handler (<c>services.AddJobHandler&lt;T&gt;()</c>); the queue knows nothing else about it.
/// </summary>
/// <remarks>
/// The lifecycle, from the queue: <see cref="ExecuteAsync"/> runs once per attempt (<see cref="JobContext.Attempt"/>,
/// within the job's own attempt budget, fixed when it was queued). Returning
/// succeeds the job; <see cref="JobFailedException"/> fails it for good; anything else is retried with backoff while
/// attempts remain; the token is cancelled by a user's cancel, a shutdown (the job goes back to the queue) or a lost
/// lease. Once the job has ended for good, <see cref="JobEndedAsync"/> is called.
/// </remarks>
public interface IJobHandler : IJobKind
{
    /// <summary>Runs the job. Returns its result (stored as JSON) or throws <see cref="JobFailedException"/>.</summary>
    Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Called on the replica that ran the job's last attempt once the job has ended for good (succeeded, failed for good
    /// or cancelled) and that was recorded; never while it may still run again (a retry, a lost lease, a return to the
    /// queue at shutdown). A handler lets go here of what it kept for later attempts. A replica that dies first never
    /// calls it: a handler that keeps anything sweeps for leftovers itself.
    /// </summary>
    Task JobEndedAsync(JobContext context, JobStatus status, CancellationToken cancellationToken) => Task.CompletedTask;
}
