using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// <c>OTEL_SDK_DISABLED=true</c> switches telemetry off even when an OTLP endpoint is configured: the OpenTelemetry
/// SDK builds its no-op providers instead of its own, and nothing leaves the process (what the tracing on/off
/// benchmark relies on).
/// </summary>
public sealed class TelemetrySwitchTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(null, true)]
    [InlineData("false", true)]
    [InlineData("true", false)]
    [InlineData("TRUE", false)]
    public async Task TheSdkBuildsItsProvidersOnlyWithoutOtelSdkDisabled(string? disabled, bool expected)
    {
        // Arrange
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var app = new ProcessingApp()
            .With("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.Endpoint)
            .With("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .With("OTEL_SDK_DISABLED", disabled);

        // Act
        await app.InitializeAsync();
        var tracing = app.Services.GetRequiredService<TracerProvider>();
        var metrics = app.Services.GetRequiredService<MeterProvider>();

        // Assert: when disabled, the SDK hands out OpenTelemetrySdk+NoopTracerProvider and …+NoopMeterProvider.
        Assert.Equal(expected, !tracing.GetType().Name.StartsWith("Noop", StringComparison.Ordinal));
        Assert.Equal(expected, !metrics.GetType().Name.StartsWith("Noop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithOtelSdkDisabledAProcessThatServedRequestsAndRanAJobExportedNothingByTheTimeItExited()
    {
        // Arrange
        await using var receiver = await OtlpReceiver.StartAsync();
        var postgres = await PostgresServer.SharedAsync();
        var apiKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var dataDir = Directory.CreateTempSubdirectory("datastack-otel-off-").FullName;
        var connectionString = await postgres.CreateDatabaseAsync("otel_off");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SDK_DISABLED"] = "true",
        };

        try
        {
            // Act
            await using (var process = await ProcessingProcess.StartAsync(connectionString, dataDir, apiKey, environment, s_timeout))
            {
                using var client = TestClients.Create(process.BaseAddress, apiKey);
                var (header, _, _) = TestClients.NewTraceParent();
                using var response = await client.SendAsync(
                    TestClients.Request(HttpMethod.Post, "/jobs", header, JsonContent.Create(new { kind = "noop", args = new { } })));
                var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
                var done = await client.GetFromJsonAsync<Job>($"/jobs/{queued!.Id}/wait?timeout=30", JsonSerializerOptions.Web);
                Assert.Equal(JobStatus.Succeeded, done!.Status);

                // A graceful stop flushes whatever an SDK had buffered: after the exit nothing more can arrive.
                await process.StopAsync(s_timeout);
                Assert.Equal(0, process.ExitCode);
            }

            // Assert
            Assert.Empty(receiver.Requests);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
