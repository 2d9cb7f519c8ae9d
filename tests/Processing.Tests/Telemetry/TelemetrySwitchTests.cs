using DataStack.Processing.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// Telemetry is on exactly when an OTLP endpoint is configured and <c>OTEL_SDK_DISABLED</c> is not <c>true</c>;
/// otherwise no provider, listener or exporter exists (what the tracing on/off benchmark relies on).
/// </summary>
public sealed class TelemetrySwitchTests
{
    [Theory]
    [InlineData(false, null, false)]
    [InlineData(true, null, true)]
    [InlineData(true, "false", true)]
    [InlineData(true, "true", false)]
    [InlineData(true, "TRUE", false)]
    public async Task ProvidersExistOnlyWithAnEndpointAndWithoutOtelSdkDisabled(bool withEndpoint, string? disabled, bool expected)
    {
        // Arrange
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var app = new ProcessingApp()
            .With("OTEL_EXPORTER_OTLP_ENDPOINT", withEndpoint ? receiver.Endpoint : null)
            .With("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .With("OTEL_SDK_DISABLED", disabled);

        // Act
        await app.InitializeAsync();
        var sdk = app.Services.GetService<OpenTelemetrySdk>();
        var loggerProviders = app.Services.GetServices<ILoggerProvider>();

        // Assert
        Assert.Equal(expected, sdk is not null);
        Assert.Equal(expected, loggerProviders.OfType<OpenTelemetryLoggerProvider>().Any());
    }
}
