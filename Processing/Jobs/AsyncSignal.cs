namespace DataStack.Processing.Jobs;

/// <summary>
/// A wake-up flag for one consumer: <see cref="Set"/> from anywhere, <see cref="WaitAsync"/> returns once it
/// is set (at once if it already was). <see cref="Reset"/> before looking for work, so a wake-up that
/// arrives while looking is never lost.
/// </summary>
public sealed class AsyncSignal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Volatile.Read(ref _current).TrySetResult();

    public void Reset()
    {
        var current = Volatile.Read(ref _current);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }
    }

    /// <summary>Waits for the signal or the timeout, whichever comes first. Returns true when signalled.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await Volatile.Read(ref _current).Task.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
