using Microsoft.Extensions.Options;

namespace DataStack.Processing.Jobs;

/// <summary>
/// The queue's rules for runners: processes outside this service that run the jobs of a queue of their own (the team's
/// Python code) through the API (docs/runners.md). The same statements as this service's own worker: claims that wait
/// for work (LISTEN/NOTIFY), leases kept by heartbeats and reaped by the worker when they expire, group-committed
/// completions, failures retried with the queue's backoff while the job's attempts last, cancels, and returns at
/// shutdown that do not count the attempt. A runner follows these rules; it never makes its own.
/// </summary>
public sealed class RunnerLeases(JobStore store, JobNotifications notifications, IOptions<JobQueueOptions> options)
{
    /// <summary>The most jobs one claim takes.</summary>
    public const int MaxClaim = 64;

    /// <summary>The longest a claim waits for work.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A waiting claim looks again this often even without a wake-up: a retried job becomes claimable when its backoff
    /// ends, which nothing announces (the worker's own loop polls as slowly, for the same reason).
    /// </summary>
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(1);

    public TimeSpan Lease => options.Value.Lease;

    /// <summary>
    /// Claims up to <paramref name="max"/> jobs of <paramref name="queue"/> for <paramref name="runner"/>: at once when
    /// there are some, else as soon as some are queued, or none once <paramref name="wait"/> has passed.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, string runner, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            // Taken before the claim, so a job queued between the claim and the wait still wakes it.
            var queued = notifications.WhenQueued(queue);
            var claimed = await store.ClaimAsync(queue, runner, max, Lease, cancellationToken);
            var remaining = deadline - DateTime.UtcNow;
            if (claimed.Count > 0 || remaining <= TimeSpan.Zero)
            {
                return claimed;
            }

            try
            {
                await queued.WaitAsync(remaining < s_recheck ? remaining : s_recheck, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Look again: a backoff may have ended, or the wait is over (then the claim above answers).
            }
        }
    }

    /// <summary>Renews the runner's leases (and stores progress); the jobs it still holds, with whether each was asked to cancel.</summary>
    public Task<IReadOnlyDictionary<Guid, bool>> HeartbeatAsync(
        string runner, IReadOnlyList<(Guid Id, JobProgress Progress)> running, CancellationToken cancellationToken) =>
        store.HeartbeatAsync(runner, Lease, running, cancellationToken);

    /// <summary>Records the runner's jobs succeeded, in one statement; the ids it still held.</summary>
    public Task<HashSet<Guid>> CompleteAsync(string runner, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken) =>
        store.CompleteManyAsync(runner, completions, cancellationToken);

    /// <summary>
    /// Records a failed attempt: retried after the queue's backoff while attempts remain (a <paramref name="retryable"/>
    /// error), or failed for good. Null when the runner no longer held the job.
    /// </summary>
    public Task<JobStatus?> FailAsync(string runner, Guid id, int attempt, JobError error, bool retryable, CancellationToken cancellationToken) =>
        store.FailAsync(id, runner, error, retryable ? JobRetry.Backoff(attempt) : null, cancellationToken);

    /// <summary>Records as cancelled a job the runner stopped because its cancel was asked for; false when it no longer held it.</summary>
    public Task<bool> CancelledAsync(string runner, Guid id, CancellationToken cancellationToken) =>
        store.MarkCancelledAsync(id, runner, cancellationToken);

    /// <summary>Puts the runner's jobs back in the queue at once, their attempts not counted (a runner shutting down).</summary>
    public Task<int> ReturnAsync(string runner, IReadOnlyList<Guid> ids, CancellationToken cancellationToken) =>
        store.ReturnToQueueAsync(runner, ids, cancellationToken);
}
