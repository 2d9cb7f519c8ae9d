using System.Threading.Channels;

namespace DataStack.Processing.Jobs;

/// <summary>
/// Group commit for job successes: every job that ends while one write is in flight is written by the next
/// one, in a single <c>UPDATE … FROM unnest(…)</c>. An idle queue pays one round trip per job, as before; a
/// busy one pays one per batch. Each caller still learns whether its own job was recorded.
/// </summary>
public sealed class JobCompletionWriter(JobStore store, string owner)
{
    /// <summary>Most jobs per statement (keeps the arrays and the statement's locks small).</summary>
    public const int MaxBatch = 512;

    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = Task.Run(WriteAsync, CancellationToken.None);

    /// <summary>Records the job as succeeded; false when this replica no longer held it. Throws what the write threw.</summary>
    public Task<bool> CompleteAsync(JobCompletion completion)
    {
        var pending = new Pending(completion, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The job runner has stopped recording outcomes.");
        }

        return pending.Done.Task;
    }

    /// <summary>Writes what is pending, then stops. Call once no job can end any more.</summary>
    public async Task StopAsync()
    {
        _pending.Writer.TryComplete();
        await _loop;
    }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var completions = new List<JobCompletion>(MaxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            completions.Clear();
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var next))
            {
                batch.Add(next);
                completions.Add(next.Completion);
            }

            try
            {
                // Not cancellable: an outcome that is being written is written (the statement is short).
                var held = await store.CompleteManyAsync(owner, completions, CancellationToken.None);
                foreach (var pending in batch)
                {
                    pending.Done.TrySetResult(held.Contains(pending.Completion.Id));
                }
            }
            catch (Exception ex)
            {
                // Each job's runner decides what the failure means for its job (retry, re-queue by lease).
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }
            }
        }
    }

    private sealed record Pending(JobCompletion Completion, TaskCompletionSource<bool> Done);
}
