using DataStack.Processing.Database;
using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>
/// One LISTEN connection per replica for the queue's wake-ups: new work (<c>datastack_jobs</c>, naming the queues it
/// is in), finished jobs (<c>datastack_job_done</c>, one notification per statement carrying the ids it ended) and cancellation requests (<c>datastack_job_cancel</c>). When the
/// connection drops it reconnects, and tells everyone to look again, since notifications may have been missed.
/// </summary>
public sealed partial class JobNotifications(NpgsqlDataSource dataSource, MigrationState migrations, ILogger<JobNotifications> logger)
    : BackgroundService
{
    public const string QueuedChannel = "datastack_jobs";
    public const string DoneChannel = "datastack_job_done";
    public const string CancelChannel = "datastack_job_cancel";

    private readonly Dictionary<Guid, DoneWaiter> _doneWaiters = [];
    private readonly Dictionary<string, TaskCompletionSource> _queuedWaiters = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Raised when jobs may be waiting to be claimed in a queue; null: in any queue (notifications may have been missed).</summary>
    public event Action<string?>? JobsQueued;

    /// <summary>
    /// A task that completes the next time jobs may be waiting in <paramref name="queue"/> (or notifications may have
    /// been missed). Take it before looking at the queue, so work queued in between still wakes the caller.
    /// </summary>
    public Task WhenQueued(string queue)
    {
        lock (_gate)
        {
            if (!_queuedWaiters.TryGetValue(queue, out var waiter))
            {
                waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _queuedWaiters[queue] = waiter;
            }

            return waiter.Task;
        }
    }

    /// <summary>Raised when cancellation of a running job was asked for.</summary>
    public event Action<Guid>? CancelRequested;

    /// <summary>
    /// Starts waiting for a job to finish. The registration's task completes when the job is reported
    /// finished, or when notifications may have been missed (after a reconnect): look at the job again then.
    /// Register before reading the job's state, so a finish in between is not lost; dispose when done.
    /// </summary>
    public DoneRegistration WaitForDone(Guid jobId)
    {
        lock (_gate)
        {
            if (!_doneWaiters.TryGetValue(jobId, out var waiter))
            {
                waiter = new DoneWaiter();
                _doneWaiters[jobId] = waiter;
            }

            waiter.Count++;
            return new DoneRegistration(this, jobId, waiter);
        }
    }

    /// <summary>How many jobs someone here is waiting on (for tests that must know the waits are in place).</summary>
    internal int WaitedJobCount
    {
        get
        {
            lock (_gate)
            {
                return _doneWaiters.Count;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WhenApplied.WaitAsync(stoppingToken);
        var delay = TimeSpan.FromMilliseconds(100);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand($"LISTEN {QueuedChannel}; LISTEN {DoneChannel}; LISTEN {CancelChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                Log.Listening(logger);
                delay = TimeSpan.FromMilliseconds(100);
                WakeEveryone();
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                Log.ConnectionLost(logger, delay.TotalSeconds, ex.Message);
                WakeEveryone();
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        switch (e.Channel)
        {
            case QueuedChannel when e.Payload.Length == 0:
                WakeQueued(null);
                break;
            case QueuedChannel:
                foreach (var queue in e.Payload.Split(','))
                {
                    WakeQueued(queue);
                }

                break;
            case DoneChannel:
                Complete(e.Payload);
                break;
            case CancelChannel when Guid.TryParse(e.Payload, out var cancelId):
                CancelRequested?.Invoke(cancelId);
                break;
        }
    }

    /// <summary>Tells whoever claims from <paramref name="queue"/> (null: from any queue) to look again.</summary>
    private void WakeQueued(string? queue)
    {
        JobsQueued?.Invoke(queue);
        lock (_gate)
        {
            if (queue is null)
            {
                foreach (var waiter in _queuedWaiters.Values)
                {
                    waiter.TrySetResult();
                }

                _queuedWaiters.Clear();
            }
            else if (_queuedWaiters.Remove(queue, out var waiter))
            {
                waiter.TrySetResult();
            }
        }
    }

    private void WakeEveryone()
    {
        WakeQueued(null);
        lock (_gate)
        {
            foreach (var waiter in _doneWaiters.Values)
            {
                waiter.Done.TrySetResult();
            }

            _doneWaiters.Clear();
        }
    }

    /// <summary>Wakes whoever waits on the ended jobs of one statement: their ids, joined by commas.</summary>
    private void Complete(string ids)
    {
        lock (_gate)
        {
            if (_doneWaiters.Count == 0)
            {
                return; // The common case on a busy queue: nobody here waits on anything.
            }

            foreach (var range in ids.AsSpan().Split(','))
            {
                if (Guid.TryParse(ids.AsSpan(range), out var jobId) && _doneWaiters.Remove(jobId, out var waiter))
                {
                    waiter.Done.TrySetResult();
                }
            }
        }
    }

    private void Release(Guid jobId, DoneWaiter waiter)
    {
        lock (_gate)
        {
            if (--waiter.Count == 0 && _doneWaiters.TryGetValue(jobId, out var current) && current == waiter)
            {
                _doneWaiters.Remove(jobId);
            }
        }
    }

    /// <summary>A wait for one job; shared by everyone waiting on that job, removed with the last of them.</summary>
    public sealed class DoneRegistration : IDisposable
    {
        private readonly JobNotifications _owner;
        private readonly Guid _jobId;
        private readonly DoneWaiter _waiter;
        private int _disposed;

        internal DoneRegistration(JobNotifications owner, Guid jobId, DoneWaiter waiter)
        {
            _owner = owner;
            _jobId = jobId;
            _waiter = waiter;
        }

        public Task Task => _waiter.Done.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Release(_jobId, _waiter);
            }
        }
    }

    internal sealed class DoneWaiter
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "Listening for job notifications")]
        public static partial void Listening(ILogger logger);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Job notification connection lost; reconnecting in {DelaySeconds}s: {Reason}")]
        public static partial void ConnectionLost(ILogger logger, double delaySeconds, string reason);
    }
}
