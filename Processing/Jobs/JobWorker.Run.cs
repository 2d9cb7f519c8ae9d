using System.Diagnostics;
using DataStack.Processing.Telemetry;
using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>Running one job: its span, its handler, and recording how it ended.</summary>
public sealed partial class JobWorker
{
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
        _handlers.TryGetValue(job.Kind, out var handler);
        JobStatus? ended = null; // Set once the job has ended for good and that was recorded.
        try
        {
            if (handler is null)
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

            ended = JobStatus.Succeeded;
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
                if (await RecordOutcomeAsync(() => _store.MarkCancelledAsync(job.Id, Owner, CancellationToken.None)))
                {
                    ended = JobStatus.Cancelled;
                }

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
            JobStatus? outcome = null;
            await RecordOutcomeAsync(async () => outcome = await _store.FailAsync(job.Id, Owner, ex.Error, retryAfter: null, CancellationToken.None));
            ended = outcome;
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
            ended = outcome == JobStatus.Failed ? JobStatus.Failed : null;
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

        if (ended is { } final && handler is not null)
        {
            await EndAsync(handler, context, final);
        }
    }

    /// <summary>Tells the handler its job has ended for good (the lifecycle contract of <see cref="IJobHandler.JobEndedAsync"/>).</summary>
    private async Task EndAsync(IJobHandler handler, JobContext context, JobStatus status)
    {
        try
        {
            await handler.JobEndedAsync(context, status, CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
        {
            Log.JobEndedHookFailed(_logger, context.Id, context.Kind, ex.Message);
        }
    }

    /// <summary>
    /// Writes a job's outcome. When the database cannot be reached the outcome is lost, but not the job:
    /// its lease expires and the reaper re-queues it (or fails it once its attempts are used up).
    /// </summary>
    private async Task<bool> RecordOutcomeAsync(Func<Task> write)
    {
        try
        {
            await write();
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Log.OutcomeNotRecorded(_logger, ex.Message);
            return false;
        }
    }
}
