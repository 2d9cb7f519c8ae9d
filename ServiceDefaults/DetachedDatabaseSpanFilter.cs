using System.Diagnostics;
using OpenTelemetry;

namespace DataStack.ServiceDefaults;

/// <summary>
/// Does not record database spans that belong to no operation: a root <c>Npgsql</c> span comes from
/// background polling (job claims, lease heartbeats, queue-depth counts) and would be a one-span trace every
/// second. Database spans inside a request or a job are kept. Their duration is still in Npgsql's metrics.
/// </summary>
internal sealed class DetachedDatabaseSpanFilter : BaseProcessor<Activity>
{
    private const string NpgsqlSource = "Npgsql";

    public override void OnStart(Activity data)
    {
        if (data.Parent is null && data.ParentSpanId == default && data.Source.Name == NpgsqlSource)
        {
            TracingSuppression.DoNotRecord(data);
        }
    }
}
