using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace DataStack.ServiceDefaults;

/// <summary>
/// Completes ASP.NET Core 10's native server span, which carries only the tags known when the request starts
/// (method, scheme, <c>url.path</c>, server address) and keeps the name
/// <c>Microsoft.AspNetCore.Hosting.HttpRequestIn</c>: once the request has run, it is named
/// <c>METHOD route</c> and gets <c>http.route</c>, <c>http.response.status_code</c> and, for server errors or
/// exceptions, an error status and <c>error.type</c> — what the OpenTelemetry instrumentation package would add.
/// The route is the same one the HTTP metrics use.
/// </summary>
internal sealed class HttpServerSpanEnricher : IStartupFilter
{
    private static readonly HashSet<string> s_knownMethods = new(StringComparer.Ordinal)
    {
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    };

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            var activity = context.Features.Get<IHttpActivityFeature>()?.Activity;
            if (activity is null)
            {
                await nextMiddleware(context);
                return;
            }

            try
            {
                await nextMiddleware(context);
            }
            catch (Exception exception)
            {
                Fail(activity, exception);
                throw;
            }

            Complete(context, activity);
        });
        next(app);
    };

    private static void Fail(Activity activity, Exception exception)
    {
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("error.type", exception.GetType().FullName);
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    private static void Complete(HttpContext context, Activity activity)
    {
        if (!activity.IsAllDataRequested)
        {
            return;
        }

        var method = s_knownMethods.Contains(context.Request.Method) ? context.Request.Method : "HTTP";
        var route = context.GetEndpoint()?.Metadata.GetMetadata<IRouteDiagnosticsMetadata>()?.Route;
        activity.DisplayName = route is null ? method : $"{method} {route}";
        if (route is not null)
        {
            activity.SetTag("http.route", route);
        }

        var status = context.Response.StatusCode;
        activity.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            activity.SetTag("error.type", status.ToString(CultureInfo.InvariantCulture));
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }
}
