using System.ComponentModel.DataAnnotations;
using DataStack.Processing.Telemetry;

namespace DataStack.Processing;

/// <summary>
/// Settings of the Processing service, bound from the <c>Processing</c> section
/// (environment: <c>Processing__ApiKey</c>, <c>Processing__DataDir</c>, …).
/// </summary>
public sealed class ProcessingOptions
{
    public const string SectionName = "Processing";

    /// <summary>The bearer key every non-health route requires. Injected by the AppHost as a secret.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Serve without a key. Off by default: without a key the service refuses to start.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>
    /// The data folder <c>POST /datasets/{name}/ingest</c> reads files from (paths are relative to it; <c>/data</c> in
    /// containers). Optional: uploads never touch it, and where it does not exist that route answers 422.
    /// </summary>
    [Required]
    public string DataDir { get; set; } = "data";

    /// <summary>Largest accepted upload body, in bytes (default 4 GiB). Larger uploads get 413.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>How many jobs one replica runs at once.</summary>
    [Range(1, 256)]
    public int WorkerConcurrency { get; set; } = 4;

    /// <summary>How long a claimed job stays leased without a heartbeat before another replica may take it.</summary>
    [Range(2, 3600)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>How often a job may be attempted before it fails for good.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Statement timeout of a transform query.</summary>
    [Range(1, 86400)]
    public int TransformTimeoutSeconds { get; set; } = 300;

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
