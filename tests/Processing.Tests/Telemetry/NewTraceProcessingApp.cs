using DataStack.Processing.Telemetry;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>A <see cref="TracedProcessingApp"/> with <c>Processing:JobTraceMode=NewTrace</c>: each job attempt is a trace of its own.</summary>
public sealed class NewTraceProcessingApp : TracedProcessingApp
{
    public NewTraceProcessingApp()
        : base(JobTraceMode.NewTrace)
    {
    }
}
