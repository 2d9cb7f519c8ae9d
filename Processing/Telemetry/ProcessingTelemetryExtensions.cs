using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace DataStack.Processing.Telemetry;

public static class ProcessingTelemetryExtensions
{
    /// <summary>
    /// <see cref="ProcessingTelemetry"/>, and its <see cref="System.Diagnostics.ActivitySource"/> and
    /// <see cref="System.Diagnostics.Metrics.Meter"/> (both <see cref="ProcessingTelemetry.Name"/>) added to the
    /// OpenTelemetry providers that the service defaults build.
    /// </summary>
    public static IServiceCollection AddProcessingTelemetry(this IServiceCollection services)
    {
        services.AddSingleton<ProcessingTelemetry>();
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(ProcessingTelemetry.Name));
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddMeter(ProcessingTelemetry.Name));
        return services;
    }
}
