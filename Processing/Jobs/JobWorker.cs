using System.Collections.Concurrent;
using System.Diagnostics;
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
    private readonly ProcessingOptions _options;
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
        IOptions<ProcessingOptions> options,
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
        _notifications.JobsQueued += _wake.Set;
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
                    var claimed = await _store.ClaimAsync(Owner, wanted, _options.Lease, stoppingToken);
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
        _notifications.JobsQueued -= _wake.Set;
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

    private async Task RunAsync(RunningJob running)
    {
        var job = running.Job;
        var context = running.Context;
        var token = running.Cancellation.Token;
        var kindTag = new KeyValuePair<string, object?>("datastack.job.kind", job.Kind);
        var status = "succeeded";
        var started = Stopwatch.GetTimestamp();
        var slotHeld = true;

        // The slot is for running the handler; recording the outcome (group-committed) happens outside it.
        void ReleaseSlot()
        {
            if (slotHeld)
            {
                slotHeld = false;
                _slots.Release(job.Id);
                StartWaiting();
                _wake.Set();
            }
        }

        // Under the request that submitted the job (or a new trace, by JobTraceMode), never under whatever ran here before.
        Activity.Current = null;
        using var activity = ProcessingTelemetry.StartJobActivity(
            job.Kind, job.Id, job.Attempt, job.MaxAttempts, job.TraceParent, job.TraceState, _options.JobTraceMode);
        if (job.Attempt == 1)
        {
            // Submit → first start; a retry's wait would also count the earlier attempts and their backoff.
            _telemetry.JobQueueWait.Record(Math.Max(0, (DateTimeOffset.UtcNow - job.CreatedAt).TotalSeconds), kindTag);
        }

        Log.JobStarted(_logger, job.Id, job.Kind, job.Attempt);
        try
        {
            if (!_handlers.TryGetValue(job.Kind, out var handler))
            {
                throw new JobFailedException("unknown_kind", $"No handler for job kind '{job.Kind}'.");
            }

            var result = await handler.ExecuteAsync(context, token);
            ReleaseSlot();
            if (!context.CompletedInTransaction
                && !await _completions.CompleteAsync(new JobCompletion(job.Id, result, context.Progress)))
            {
                throw new LeaseLostException(job.Id);
            }

            Log.JobSucceeded(_logger, job.Id, job.Kind, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            if (running.Interruption == RunningJob.InterruptReason.LeaseLost)
            {
                status = "lost";
                Log.LeaseLost(_logger, job.Id, job.Kind);
            }
            else if (running.Interruption == RunningJob.InterruptReason.Shutdown)
            {
                status = "returned";
                await RecordOutcomeAsync(() => _store.ReturnToQueueAsync(Owner, [job.Id], CancellationToken.None));
                Log.JobReturned(_logger, job.Id, job.Kind);
            }
            else
            {
                status = "cancelled";
                await RecordOutcomeAsync(() => _store.MarkCancelledAsync(job.Id, Owner, CancellationToken.None));
                Log.JobCancelled(_logger, job.Id, job.Kind);
            }
        }
        catch (LeaseLostException ex)
        {
            // Another replica re-queued the job; whatever it does next is the job's truth.
            status = "lost";
            ProcessingTelemetry.RecordFailure(activity, ex, "lease_lost");
            Log.LeaseLost(_logger, job.Id, job.Kind);
        }
        catch (JobFailedException ex)
        {
            // The message is for the user (stored on the job) and may quote the input: it stays out of logs and spans.
            status = "failed";
            ProcessingTelemetry.RecordFailure(activity, ex.Error.Code);
            await RecordOutcomeAsync(() => _store.FailAsync(job.Id, Owner, ex.Error, retryAfter: null, CancellationToken.None));
            Log.JobFailed(_logger, job.Id, job.Kind, ex.Error.Code, ex.Error.Position);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The runner's boundary: anything else may be transient (database restart, network, disk) or a
            // bug; either way the job is retried with backoff while attempts remain, then fails with the reason.
            var code = JobRetry.ErrorCode(ex);
            ProcessingTelemetry.RecordFailure(activity, ex, code);
            var retryAfter = JobRetry.Backoff(job.Attempt);
            var error = new JobError(code, ex is PostgresException pge ? pge.MessageText : ex.Message);
            JobStatus? outcome = null;
            await RecordOutcomeAsync(async () => outcome = await _store.FailAsync(job.Id, Owner, error, retryAfter, CancellationToken.None));
            status = outcome == JobStatus.Queued ? "retrying" : "failed";
            Log.JobErrored(_logger, job.Id, job.Kind, job.Attempt, code, retryAfter.TotalSeconds, ex);
        }
        finally
        {
            _running.TryRemove(job.Id, out _);
            running.Cancellation.Dispose();
            ReleaseSlot();
            _wake.Set();
            var statusTag = new KeyValuePair<string, object?>("datastack.job.status", status);
            _telemetry.JobsCompleted.Add(1, kindTag, statusTag);
            _telemetry.JobDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, kindTag, statusTag);
            activity?.SetTag("datastack.job.status", status);
        }
    }

    /// <summary>
    /// Writes a job's outcome. When the database cannot be reached the outcome is lost, but not the job:
    /// its lease expires and the reaper re-queues it (or fails it once its attempts are used up).
    /// </summary>
    private async Task RecordOutcomeAsync(Func<Task> write)
    {
        try
        {
            await write();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Log.OutcomeNotRecorded(_logger, ex.Message);
        }
    }

    private async Task MaintainAsync(CancellationToken stoppingToken)
    {
        var nextReap = DateTime.UtcNow;
        var nextDepth = DateTime.UtcNow;
        using var timer = new PeriodicTimer(s_heartbeatInterval);
        while (true)
        {
            try
            {
                await ReturnUnstartedAsync(_slots.TakeOverdue());
                var waiting = _slots.WaitingIds();
                if (!_running.IsEmpty || waiting.Length > 0)
                {
                    var snapshot = _running.Values.Select(r => (r.Job.Id, r.Context.Progress)).Concat(waiting.Select(id => (id, new JobProgress(0, 0)))).ToArray();
                    var held = await _store.HeartbeatAsync(Owner, _options.Lease, snapshot, stoppingToken);
                    foreach (var (id, _) in snapshot)
                    {
                        if (!_running.TryGetValue(id, out var running))
                        {
                            // Claimed, not started: one no longer ours must not start; a cancelled one ends unstarted.
                            var ours = held.TryGetValue(id, out var cancel);
                            if ((!ours || cancel) && _slots.TryRemove(id) && cancel)
                            {
                                await RecordOutcomeAsync(() => _store.MarkCancelledAsync(id, Owner, CancellationToken.None));
                            }

                            continue;
                        }

                        if (!held.TryGetValue(id, out var cancelRequested))
                        {
                            // Not ours any more (lease expired while we could not reach the database).
                            running.Interrupt(RunningJob.InterruptReason.LeaseLost);
                        }
                        else if (cancelRequested)
                        {
                            running.Interrupt(RunningJob.InterruptReason.Cancel);
                        }
                    }
                }

                if (DateTime.UtcNow >= nextReap)
                {
                    var reaped = await _store.ReapExpiredLeasesAsync(stoppingToken);
                    if (reaped > 0)
                    {
                        Log.LeasesReaped(_logger, reaped);
                    }

                    nextReap = DateTime.UtcNow + TimeSpan.FromSeconds(Math.Max(1, _options.LeaseSeconds / 2.0));
                }

                if (DateTime.UtcNow >= nextDepth)
                {
                    _telemetry.SetQueueDepth(await _store.CountQueuedAsync(stoppingToken));
                    nextDepth = DateTime.UtcNow + TimeSpan.FromSeconds(5);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                Log.MaintenanceFailed(_logger, ex.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
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
