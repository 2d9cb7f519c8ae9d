using System.Diagnostics;
using Microsoft.AspNetCore.Builder;

namespace DataStack.ServiceDefaults;

/// <summary>Keeps chosen operations out of traces.</summary>
public static class TracingSuppression
{
    /// <summary>
    /// Requests to these endpoints are not traced: their server span is not recorded, and neither are the spans
    /// started under it (e.g. a health check's <c>SELECT 1</c>), since the SDK samples children by their parent.
    /// ASP.NET Core's native server spans have no instrumentation filter, so this marks the request's span
    /// as it reaches the endpoint. The request still counts in the HTTP metrics.
    /// </summary>
    public static TBuilder WithoutTracing<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Finally(endpoint =>
        {
            var next = endpoint.RequestDelegate;
            if (next is null)
            {
                return;
            }

            endpoint.RequestDelegate = context =>
            {
                if (Activity.Current is { } activity)
                {
                    DoNotRecord(activity);
                }

                return next(context);
            };
        });
        return builder;
    }

    /// <summary>
    /// Turns a started span into a non-recorded one: exporters skip it (they only see spans whose
    /// <see cref="Activity.IsAllDataRequested"/> is still set when they stop), and spans started under it
    /// inherit the unsampled flag. Its ids still propagate, so logs keep their correlation.
    /// </summary>
    internal static void DoNotRecord(Activity activity)
    {
        activity.IsAllDataRequested = false;
        activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
    }
}
