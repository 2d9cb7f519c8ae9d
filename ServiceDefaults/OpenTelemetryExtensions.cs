using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DataStack.ServiceDefaults;

/// <summary>
/// OpenTelemetry wiring: traces, metrics and logs exported over OTLP, configured only by the standard
/// <c>OTEL_*</c> variables that Aspire injects (read through <see cref="IConfiguration"/>, so they may also
/// come from any other configuration source).
/// </summary>
/// <remarks>
/// Built from the <c>OpenTelemetry</c> SDK and its OTLP exporter alone (no hosting or instrumentation
/// packages): .NET 10's libraries emit their spans and metrics natively, so "instrumenting" them is just
/// listening to their sources. Traces and metrics come from one <see cref="OpenTelemetrySdk"/> owned by the
/// host's container (created at start-up, flushed at shutdown, disposed with the host); logs flow through the
/// host's own logging pipeline (<see cref="OpenTelemetryLoggingExtensions.AddOpenTelemetry(ILoggingBuilder)"/>)
/// and carry the trace and span id of <see cref="System.Diagnostics.Activity.Current"/>.
/// </remarks>
public static class OpenTelemetryExtensions
{
    /// <summary><c>true</c>: build nothing at all, no listener, no exporter (e.g. to measure tracing overhead).</summary>
    public const string SdkDisabledKey = "OTEL_SDK_DISABLED";

    public const string EndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string TracesEndpointKey = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    public const string MetricsEndpointKey = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    public const string LogsEndpointKey = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";

    private const string AspNetCoreSuppressTagsSwitch = "Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData";

    /// <summary>
    /// Exports each signal whose OTLP endpoint is configured (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, or the
    /// signal's own <c>OTEL_EXPORTER_OTLP_{TRACES|METRICS|LOGS}_ENDPOINT</c>). Without an endpoint, or with
    /// <c>OTEL_SDK_DISABLED=true</c>, no provider is built and nothing listens: telemetry costs nothing.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, Action<ServiceTelemetry>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        var telemetry = new ServiceTelemetry();
        configure?.Invoke(telemetry);

        var configuration = builder.Configuration;
        if (IsSdkDisabled(configuration))
        {
            return builder;
        }

        var applicationName = builder.Environment.ApplicationName;
        var exportTraces = HasEndpoint(configuration, TracesEndpointKey);
        var exportMetrics = HasEndpoint(configuration, MetricsEndpointKey);
        var exportLogs = HasEndpoint(configuration, LogsEndpointKey);

        if (exportLogs)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
                logging.AddOtlpExporter();
            });
            builder.Services.ConfigureOpenTelemetryLoggerProvider(logging =>
                logging.ConfigureResource(resource => ConfigureResource(resource, applicationName)));
        }

        if (exportTraces)
        {
            // ASP.NET Core 10 adds the HTTP semantic-convention tags known at the start of a request (method,
            // scheme, url.path, server address) to its server span only when this switch is off; it is on by
            // default, and the instrumentation package turns it off exactly like this. The rest (name, route,
            // status code) is added by the enricher at the end of the request.
            AppContext.SetSwitch(AspNetCoreSuppressTagsSwitch, false);
            builder.Services.AddSingleton<IStartupFilter, HttpServerSpanEnricher>();
        }

        if (exportTraces || exportMetrics)
        {
            builder.Services.AddSingleton(services => OpenTelemetrySdk.Create(otel =>
            {
                // The SDK's own container would read environment variables only; give it the host's configuration.
                otel.Services.AddSingleton(services.GetRequiredService<IConfiguration>());
                otel.ConfigureResource(resource => ConfigureResource(resource, applicationName));
                if (exportTraces)
                {
                    otel.WithTracing(tracing => tracing
                        .AddSource([.. telemetry.Sources])
                        .AddProcessor(new DetachedDatabaseSpanFilter())
                        .AddOtlpExporter());
                }

                if (exportMetrics)
                {
                    otel.WithMetrics(metrics => metrics
                        .AddMeter([.. telemetry.Meters])
                        .AddOtlpExporter());
                }
            }));
            builder.Services.AddHostedService<OpenTelemetryLifetime>();
        }

        return builder;
    }

    /// <summary>True when <c>OTEL_SDK_DISABLED</c> is <c>true</c> (any case), as the OpenTelemetry specification has it.</summary>
    public static bool IsSdkDisabled(IConfiguration configuration) =>
        string.Equals(configuration[SdkDisabledKey]?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    private static bool HasEndpoint(IConfiguration configuration, string signalEndpointKey) =>
        !string.IsNullOrWhiteSpace(configuration[EndpointKey]) || !string.IsNullOrWhiteSpace(configuration[signalEndpointKey]);

    /// <summary>
    /// <c>service.name</c> falls back to the application name; <c>OTEL_SERVICE_NAME</c> and
    /// <c>OTEL_RESOURCE_ATTRIBUTES</c>, detected after it, win.
    /// </summary>
    private static void ConfigureResource(ResourceBuilder resource, string applicationName) =>
        resource.Clear()
            .AddService(serviceName: applicationName)
            .AddTelemetrySdk()
            .AddEnvironmentVariableDetector();
}
