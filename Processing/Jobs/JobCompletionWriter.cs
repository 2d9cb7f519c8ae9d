namespace DataStack.Processing.Jobs;

/// <summary>
/// Group commit for job successes, leader style: a job that ends while no write is in flight writes its own
/// success at once, in its own trace; jobs that end while a write is in flight queue up, and the first of
/// them is handed the lead when that write returns: it writes them (up to <see cref="MaxBatch"/>) in a single
/// <c>UPDATE … FROM unnest(…)</c> (that statement's span belongs to the job that led it). An idle queue pays
/// one round trip per job; a busy one pays one per batch. Each job still learns whether its own
/// success was recorded. A statement carries at most <see cref="MaxBatch"/> successes, so its locks are held
/// briefly however far behind the writes are; <see cref="Backlog"/> lets the runner stop claiming meanwhile.
/// </summary>
public sealed class JobCompletionWriter(JobStore store, string owner)
{
    /// <summary>The most successes one statement writes.</summary>
    public const int MaxBatch = 256;

    private readonly Lock _gate = new();
    private readonly List<Pending> _queue = [];
    private bool _writing;
    private int _inFlight;

    /// <summary>Successes queued or being written: jobs that have finished but are not recorded yet.</summary>
    public int Backlog
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count + _inFlight;
            }
        }
    }

    private enum Outcome
    {
        Held,
        NotHeld,
        Lead,
    }

    /// <summary>Records the job as succeeded; false when this replica no longer held it. Throws what the write threw.</summary>
    public async Task<bool> CompleteAsync(JobCompletion completion)
    {
        var me = new Pending(completion);
        bool lead;
        lock (_gate)
        {
            _queue.Add(me);
            lead = !_writing;
            _writing = true;
        }

        var outcome = lead ? Outcome.Lead : await me.Signal.Task;
        if (outcome != Outcome.Lead)
        {
            return outcome == Outcome.Held;
        }

        List<Pending> batch;
        lock (_gate)
        {
            batch = [.. _queue.Take(MaxBatch)];
            _queue.RemoveRange(0, batch.Count);
            _inFlight = batch.Count;
        }

        HashSet<Guid> held;
        try
        {
            // Not cancellable: an outcome that is being written is written (the statement is short).
            held = await store.CompleteManyAsync(owner, [.. batch.Select(p => p.Completion)], CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Not swallowed: every job of the batch gets the failure, ours is rethrown; each runner decides
            // what it means for its job (retry, or re-queue when the lease expires).
            foreach (var pending in batch.Where(p => p != me))
            {
                pending.Signal.TrySetException(ex);
            }

            PassTheLead();
            throw;
        }

        foreach (var pending in batch.Where(p => p != me))
        {
            pending.Signal.TrySetResult(held.Contains(pending.Completion.Id) ? Outcome.Held : Outcome.NotHeld);
        }

        PassTheLead();
        return held.Contains(completion.Id);
    }

    private void PassTheLead()
    {
        lock (_gate)
        {
            _inFlight = 0;
            if (_queue.Count > 0)
            {
                _queue[0].Signal.TrySetResult(Outcome.Lead);
            }
            else
            {
                _writing = false;
            }
        }
    }

    private sealed class Pending(JobCompletion completion)
    {
        public JobCompletion Completion { get; } = completion;

        public TaskCompletionSource<Outcome> Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
