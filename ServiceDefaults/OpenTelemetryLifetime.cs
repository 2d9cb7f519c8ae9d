using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace DataStack.ServiceDefaults;

/// <summary>
/// Ties the trace and metric providers to the host: taking the <see cref="OpenTelemetrySdk"/> in the
/// constructor builds them when the host starts (before any other hosted service runs, as this one is
/// registered first), and <see cref="StopAsync"/>, which runs after the services registered later have
/// stopped, exports what is still buffered. The container disposes the SDK with the host.
/// </summary>
internal sealed class OpenTelemetryLifetime(OpenTelemetrySdk sdk) : IHostedService
{
    private const int FlushTimeoutMilliseconds = 5_000;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        sdk.TracerProvider.ForceFlush(FlushTimeoutMilliseconds);
        sdk.MeterProvider.ForceFlush(FlushTimeoutMilliseconds);
        return Task.CompletedTask;
    }
}
