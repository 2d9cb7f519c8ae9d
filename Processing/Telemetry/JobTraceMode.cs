namespace DataStack.Processing.Telemetry;

/// <summary>
/// Where a job's span goes (<c>Processing:JobTraceMode</c>). Either way it keeps a link to the span of the
/// request that submitted the job, and every attempt is a span of its own.
/// </summary>
public enum JobTraceMode
{
    /// <summary>
    /// The job's span is a child of the submitting request (the default): the notebook cell, the request and
    /// the job's SQL are one waterfall. The messaging conventions allow a consumer to take the producer's
    /// context as parent when it processes one message ("continue the trace").
    /// </summary>
    Child,

    /// <summary>Each job attempt starts a trace of its own, linked to the submitting request ("start a new one").</summary>
    NewTrace,
}
