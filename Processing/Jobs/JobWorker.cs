using System.Collections.Concurrent;
using DataStack.Processing.Database;
using DataStack.Processing.Telemetry;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>
/// Runs queued jobs on this replica: claims them (<c>FOR UPDATE SKIP LOCKED</c>) into a local queue and runs at
/// most <c>WorkerConcurrency</c> at once (<see cref="JobSlots"/>: while jobs are short, one claim carries more
/// jobs than there are slots), keeps their leases alive with a heartbeat, re-queues jobs whose replica died,
/// retries transient failures with backoff, and on shutdown hands back unstarted jobs at once and lets running
/// ones finish within a grace period before returning them to the queue. It wakes on LISTEN/NOTIFY; the slow poll only catches retries whose backoff has elapsed.
/// </summary>
public sealed partial class JobWorker : BackgroundService
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_heartbeatInterval = TimeSpan.FromSeconds(1);

    private readonly JobStore _store;
    private readonly JobNotifications _notifications;
    private readonly MigrationState _migrations;
    private readonly ProcessingTelemetry _telemetry;
    private readonly ILogger<JobWorker> _logger;
    private readonly JobQueueOptions _options;
    private readonly Dictionary<string, IJobHandler> _handlers;
    private readonly ConcurrentDictionary<Guid, RunningJob> _running = new();
    private readonly AsyncSignal _wake = new();
    private readonly CancellationTokenSource _maintenanceStop = new();
    private readonly JobCompletionWriter _completions;
    private readonly JobSlots _slots;
    private Task _maintenance = Task.CompletedTask;
    private readonly Lock _stopGate = new();
    private Task? _stop;

    public JobWorker(
        JobStore store,
        JobNotifications notifications,
        IEnumerable<IJobHandler> handlers,
        MigrationState migrations,
        IOptions<JobQueueOptions> options,
        ProcessingTelemetry telemetry,
        ILogger<JobWorker> logger)
    {
        _store = store;
        _notifications = notifications;
        _migrations = migrations;
        _telemetry = telemetry;
        _logger = logger;
        _options = options.Value;
        _handlers = handlers.ToDictionary(h => h.Kind, StringComparer.Ordinal);
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
        _completions = new JobCompletionWriter(store, Owner);
        _slots = new JobSlots(_options.WorkerConcurrency, TimeProvider.System);
    }

    /// <summary>This replica's lease-owner name: host, process id and a random suffix.</summary>
    public string Owner { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _migrations.WhenApplied.WaitAsync(stoppingToken);
        _notifications.JobsQueued += OnJobsQueued;
        _notifications.CancelRequested += OnCancelRequested;
        _maintenance = Task.Run(() => MaintainAsync(_maintenanceStop.Token), CancellationToken.None);
        Log.Started(_logger, Owner, _options.WorkerConcurrency);

        var backoff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            _wake.Reset();
            // Backpressure: while a claim's worth of finished jobs still wait for their success to be written, claim
            // nothing more (every job that ends wakes this loop). Without it, a replica whose completion writes fell
            // behind kept running new jobs and its backlog (and the statements writing it) grew without bound.
            var wanted = _completions.Backlog >= JobSlots.ClaimBatch ? 0 : _slots.ClaimSize();
            var claimedAll = false;
            if (wanted > 0)
            {
                try
                {
                    var claimed = await _store.ClaimAsync(JobQueues.Processing, Owner, wanted, _options.Lease, stoppingToken);
                    _slots.Add(claimed);
                    StartWaiting();
                    claimedAll = claimed.Count == wanted;
                    backoff = TimeSpan.Zero;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
                {
                    backoff = TimeSpan.FromMilliseconds(Math.Clamp(backoff.TotalMilliseconds * 2, 100, 5000));
                    Log.ClaimFailed(_logger, backoff.TotalSeconds, ex.Message);
                    await Task.Delay(backoff, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }
            }

            if (claimedAll)
            {
                // The claim was filled: there may be more waiting.
                continue;
            }

            await ((Task)_wake.WaitAsync(s_pollInterval, stoppingToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        // A host stopped by two callers at once (e.g. the app's own Run() and a WebApplicationFactory) calls this
        // twice. Both must wait for the one drain: a caller that returned early would go on to dispose the host
        // under the drain's feet.
        lock (_stopGate)
        {
            _stop ??= DrainAndStopAsync(cancellationToken);
        }

        return _stop.WaitAsync(cancellationToken);
    }

    private async Task DrainAndStopAsync(CancellationToken cancellationToken)
    {
        // Stop claiming first, hand back what was claimed but never started; then give running jobs the grace
        // period to finish.
        await base.StopAsync(cancellationToken);
        await ReturnUnstartedAsync(_slots.Close());
        var inFlight = _running.Values.ToArray();
        if (inFlight.Length > 0)
        {
            Log.Draining(_logger, inFlight.Length, _options.ShutdownGraceSeconds);
            var all = Task.WhenAll(inFlight.Select(r => r.Task));
            try
            {
                await all.WaitAsync(TimeSpan.FromSeconds(_options.ShutdownGraceSeconds), cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Out of time: interrupt what is left; each returns its job to the queue as it stops.
                foreach (var running in _running.Values)
                {
                    running.Interrupt(RunningJob.InterruptReason.Shutdown);
                }

                await all.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        await _maintenanceStop.CancelAsync();
        await _maintenance.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _notifications.JobsQueued -= OnJobsQueued;
        _notifications.CancelRequested -= OnCancelRequested;
    }

    public override void Dispose()
    {
        _maintenanceStop.Dispose();
        base.Dispose();
    }

    /// <summary>Starts waiting jobs while slots are free (called by the claim loop and by every job that ends).</summary>
    private void StartWaiting()
    {
        while (_slots.TryStartNext(out var job))
        {
            Start(job);
        }
    }

    private void Start(ClaimedJob job)
    {
        var context = new JobContext(_store, Owner, job);
        var running = new RunningJob(job, context);
        _running[job.Id] = running;
        running.Task = Task.Run(() => RunAsync(running), CancellationToken.None);
    }

    private void OnJobsQueued(string? queue)
    {
        if (queue is null or JobQueues.Processing)
        {
            _wake.Set();
        }
    }

    private void OnCancelRequested(Guid jobId)
    {
        if (_running.TryGetValue(jobId, out var running))
        {
            running.Interrupt(RunningJob.InterruptReason.Cancel);
        }
        else if (_slots.TryRemove(jobId))
        {
            // Claimed but not started yet: it ends cancelled without running.
            _ = Task.Run(() => RecordOutcomeAsync(() => _store.MarkCancelledAsync(jobId, Owner, CancellationToken.None)), CancellationToken.None);
        }
    }

    /// <summary>Hands claimed jobs that never started back to the queue, their attempt not counted.</summary>
    private async Task ReturnUnstartedAsync(List<ClaimedJob> jobs)
    {
        if (jobs.Count > 0)
        {
            await RecordOutcomeAsync(() => _store.ReturnToQueueAsync(Owner, [.. jobs.Select(j => j.Id)], CancellationToken.None));
            Log.ReturnedUnstarted(_logger, jobs.Count);
        }
    }
}
