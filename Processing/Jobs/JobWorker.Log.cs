namespace DataStack.Processing.Jobs;

/// <summary>The job runner's log messages (event ids 2001–2099).</summary>
public sealed partial class JobWorker
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Job runner {Owner} started with {Concurrency} slots")]
        public static partial void Started(ILogger logger, string owner, int concurrency);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Job {JobId} ({Kind}) started, attempt {Attempt}")]
        public static partial void JobStarted(ILogger logger, Guid jobId, string kind, int attempt);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Job {JobId} ({Kind}) succeeded in {ElapsedMs:F0} ms")]
        public static partial void JobSucceeded(ILogger logger, Guid jobId, string kind, double elapsedMs);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Job {JobId} ({Kind}) failed: {Code}{Position}")]
        public static partial void JobFailed(ILogger logger, Guid jobId, string kind, string code, string position);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Job {JobId} ({Kind}) attempt {Attempt} errored ({Code}); retry in {RetrySeconds:F1}s if attempts remain")]
        public static partial void JobErrored(ILogger logger, Guid jobId, string kind, int attempt, string code, double retrySeconds, Exception exception);

        [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Job {JobId} ({Kind}) cancelled")]
        public static partial void JobCancelled(ILogger logger, Guid jobId, string kind);

        [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Job {JobId} ({Kind}) returned to the queue at shutdown")]
        public static partial void JobReturned(ILogger logger, Guid jobId, string kind);

        [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Job {JobId} ({Kind}) lease lost; another replica owns it now")]
        public static partial void LeaseLost(ILogger logger, Guid jobId, string kind);

        [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Re-queued or failed {Count} jobs whose lease expired")]
        public static partial void LeasesReaped(ILogger logger, int count);

        [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Could not claim jobs; retrying in {DelaySeconds:F1}s: {Reason}")]
        public static partial void ClaimFailed(ILogger logger, double delaySeconds, string reason);

        [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Job maintenance (heartbeat, reaper) failed: {Reason}")]
        public static partial void MaintenanceFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Could not record a job outcome; its lease will expire and it will be re-queued: {Reason}")]
        public static partial void OutcomeNotRecorded(ILogger logger, string reason);

        [LoggerMessage(EventId = 2014, Level = LogLevel.Debug, Message = "Returned {Count} claimed jobs that had not started to the queue")]
        public static partial void ReturnedUnstarted(ILogger logger, int count);

        [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "Job {JobId} ({Kind}) ended, but its handler could not let go of what it kept for it: {Reason}")]
        public static partial void JobEndedHookFailed(ILogger logger, Guid jobId, string kind, string reason);

        [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Waiting up to {GraceSeconds}s for {Count} running jobs")]
        public static partial void Draining(ILogger logger, int count, int graceSeconds);
    }
}
