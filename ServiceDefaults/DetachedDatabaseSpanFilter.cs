using System.Diagnostics;
using OpenTelemetry;

namespace DataStack.ServiceDefaults;

/// <summary>
/// Does not record database spans that belong to no operation: a root <c>Npgsql</c> span comes from background
/// polling (job claims, lease heartbeats, queue-depth counts, the reaper) and would be a one-span trace of its own,
/// several a second. Database spans inside a request or a job are kept; their durations stay in Npgsql's metrics.
/// </summary>
/// <remarks>
/// Hand-written because no package does it: Aspire.Npgsql (through Npgsql.OpenTelemetry) traces every command,
/// and the hosting package's default sampler (parent-based, always on) records every root. Npgsql's own
/// <c>ConfigureTracing</c> filters cover commands, batches and COPY but not physical connection opens, so one
/// processor here is the one place that covers them all. Measured without it: an idle Processing exported 58
/// one-span traces a minute (55 commands, 3 connection opens); with it, none (ExportedTelemetryTests).
/// </remarks>
internal sealed class DetachedDatabaseSpanFilter : BaseProcessor<Activity>
{
    private const string NpgsqlSource = "Npgsql";

    public override void OnStart(Activity data)
    {
        if (data.Parent is null && data.ParentSpanId == default && data.Source.Name == NpgsqlSource)
        {
            // Exporters skip a span whose IsAllDataRequested is unset when it stops; its ids still reach the logs.
            data.IsAllDataRequested = false;
            data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }
    }
}
