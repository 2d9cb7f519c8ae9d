using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace DataStack.ServiceDefaults;

/// <summary>
/// What every DataStack service gets: OpenTelemetry over OTLP, health probes and resilient defaults.
/// </summary>
public static class Extensions
{
    /// <summary>Path of the readiness probe: every registered health check must pass.</summary>
    public const string HealthEndpointPath = "/health";

    /// <summary>Path of the liveness probe: only checks tagged <see cref="LiveTag"/>.</summary>
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>Tag for health checks that say whether the process is alive (not whether it is ready).</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// OpenTelemetry (see <see cref="OpenTelemetryExtensions.ConfigureOpenTelemetry"/>) and the default health
    /// checks. <paramref name="configureTelemetry"/> adds the service's own activity sources and meters.
    /// </summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, Action<ServiceTelemetry>? configureTelemetry = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry(configureTelemetry);
        builder.AddDefaultHealthChecks();
        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (ready) and <c>/alive</c> (live) in every environment: an orchestrator needs
    /// them in production too. The responses carry only the overall status, never check details. Probes are
    /// frequent and say nothing about the work, so they are kept out of traces.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath)
            .AllowAnonymous()
            .WithoutTracing();
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(LiveTag),
        })
            .AllowAnonymous()
            .WithoutTracing();
        return app;
    }
}
