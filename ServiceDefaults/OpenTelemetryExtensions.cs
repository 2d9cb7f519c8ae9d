using Microsoft.Extensions.Hosting;

namespace DataStack.ServiceDefaults;

/// <summary>OpenTelemetry wiring (traces, metrics, logs → OTLP).</summary>
public static class OpenTelemetryExtensions
{
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        return builder;
    }
}
