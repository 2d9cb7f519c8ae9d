using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DataStack.Processing.Telemetry;

/// <summary>
/// The Processing service's own spans and metrics, both named <see cref="Name"/>. Spans are
/// "verb object" (<c>job ingest</c>, <c>ingest copy</c>); nothing is recorded per row.
/// </summary>
public sealed class ProcessingTelemetry : IDisposable
{
    public const string Name = "DataStack.Processing";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;
    private long _queueDepth;

    public ProcessingTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        JobsCompleted = _meter.CreateCounter<long>("datastack.jobs.completed", "{job}", "Jobs that ended, by kind and status.");
        JobDuration = _meter.CreateHistogram<double>("datastack.job.duration", "s", "How long a job ran, by kind and status.");
        JobQueueWait = _meter.CreateHistogram<double>("datastack.job.queue_wait", "s", "Time from submit to start, by kind.");
        RowsIngested = _meter.CreateCounter<long>("datastack.ingest.rows", "{row}", "Rows written by ingest jobs.");
        BytesIngested = _meter.CreateCounter<long>("datastack.ingest.bytes", "By", "CSV bytes read by ingest jobs.");
        _meter.CreateObservableGauge("datastack.jobs.queued", () => Volatile.Read(ref _queueDepth), "{job}", "Jobs waiting in the queue.");
    }

    public Counter<long> JobsCompleted { get; }

    public Histogram<double> JobDuration { get; }

    public Histogram<double> JobQueueWait { get; }

    public Counter<long> RowsIngested { get; }

    public Counter<long> BytesIngested { get; }

    /// <summary>Updated by the job runner's maintenance loop; read by the gauge without touching the database.</summary>
    public void SetQueueDepth(long depth) => Volatile.Write(ref _queueDepth, depth);

    /// <summary>
    /// Starts the span of one attempt of a job, always linked to the span of the request that submitted it. With
    /// <see cref="JobTraceMode.Child"/> it is also that span's child, so the job (and its SQL) sits in the
    /// request's trace; with <see cref="JobTraceMode.NewTrace"/> it is the root of a trace of its own. Each
    /// attempt is a span: <c>datastack.job.attempt</c> of <c>datastack.job.max_attempts</c>.
    /// </summary>
    public static Activity? StartJobActivity(
        string kind, Guid jobId, int attempt, int maxAttempts, string? traceParent, string? traceState, JobTraceMode mode)
    {
        ActivityLink[]? links = null;
        var parent = default(ActivityContext);
        if (traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var submitter))
        {
            links = [new ActivityLink(submitter)];
            parent = mode == JobTraceMode.Child ? submitter : default;
        }

        var activity = ActivitySource.StartActivity(
            ActivityKind.Consumer,
            parentContext: parent,
            tags: null,
            links: links,
            name: $"job {kind}");
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("datastack.job.id", jobId.ToString());
            activity.SetTag("datastack.job.kind", kind);
            activity.SetTag("datastack.job.attempt", attempt);
            activity.SetTag("datastack.job.max_attempts", maxAttempts);
        }

        return activity;
    }

    /// <summary>Marks a span failed with the standard exception tags.</summary>
    public static void RecordFailure(Activity? activity, Exception exception, string? code = null)
    {
        if (activity is null)
        {
            return;
        }

        RecordFailure(activity, code ?? exception.GetType().Name);
        activity.AddException(exception);
    }

    /// <summary>
    /// Marks a span failed with an error code only: for expected failures (bad input) whose message is meant
    /// for the user and may quote the data, which must not reach telemetry.
    /// </summary>
    public static void RecordFailure(Activity? activity, string code)
    {
        activity?.SetStatus(ActivityStatusCode.Error, code);
        activity?.SetTag("error.type", code);
    }

    public void Dispose() => _meter.Dispose();
}
