using System.ComponentModel.DataAnnotations;
using DataStack.Processing.Telemetry;

namespace DataStack.Processing.Jobs;

/// <summary>How this replica runs the queue, bound from the <c>Processing</c> section (<c>Processing__WorkerConcurrency</c>, …).</summary>
public sealed class JobQueueOptions
{
    public const string SectionName = "Processing";

    /// <summary>How many jobs one replica runs at once.</summary>
    [Range(1, 256)]
    public int WorkerConcurrency { get; set; } = 4;

    /// <summary>How long a claimed job stays leased without a heartbeat before another replica may take it.</summary>
    [Range(2, 3600)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>How often a job may be attempted before it fails for good (stored on each job when it is queued).</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>On shutdown, how long in-flight jobs may run before they are returned to the queue.</summary>
    [Range(0, 3600)]
    public int ShutdownGraceSeconds { get; set; } = 20;

    /// <summary>
    /// A job's span: a child of the request that submitted it (<see cref="JobTraceMode.Child"/>, the default) or the
    /// root of a new trace (<see cref="JobTraceMode.NewTrace"/>); linked to that request either way.
    /// </summary>
    [EnumDataType(typeof(JobTraceMode))]
    public JobTraceMode JobTraceMode { get; set; } = JobTraceMode.Child;

    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);
}
