using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>The worker's maintenance loop: leases kept alive, cancellations noticed, expired leases reaped, the queue depth measured.</summary>
public sealed partial class JobWorker
{
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
}
