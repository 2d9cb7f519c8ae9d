namespace DataStack.Processing.Jobs;

/// <summary>
/// A job running on this replica: its claim, its context, the cancellation that stops it, and why it was
/// stopped. The first interruption wins; later ones (a cancel during shutdown) change nothing.
/// </summary>
internal sealed class RunningJob(ClaimedJob job, JobContext context)
{
    /// <summary>Why a running job was stopped before it ended; decides what becomes of it.</summary>
    public enum InterruptReason
    {
        /// <summary>A user asked to cancel it: it is marked cancelled.</summary>
        Cancel,

        /// <summary>The replica is shutting down: it goes back to the queue.</summary>
        Shutdown,

        /// <summary>Another replica owns it now: it is left alone.</summary>
        LeaseLost,
    }

    private int _interrupted;

    public ClaimedJob Job { get; } = job;

    public JobContext Context { get; } = context;

    public CancellationTokenSource Cancellation { get; } = new();

    public Task Task { get; set; } = Task.CompletedTask;

    public InterruptReason? Interruption { get; private set; }

    public void Interrupt(InterruptReason reason)
    {
        if (Interlocked.Exchange(ref _interrupted, 1) == 0)
        {
            Interruption = reason;
            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The job ended in the meantime.
            }
        }
    }
}
