using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using DataStack.Processing.Jobs;
using Npgsql;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// Runs Processing as a real process exporting to an <see cref="OtlpReceiver"/> through exactly the variables
/// Aspire injects, drives a little traffic (health probes, a rejected key, a noop job that succeeds and one that
/// fails), then stops it gracefully. The tests read what arrived.
/// </summary>
public sealed class ExportedTelemetryFixture : IAsyncLifetime
{
    public const string ServiceName = "processing-test";
    public const string ResourceAttribute = "deployment.environment.name";
    public const string ResourceAttributeValue = "telemetry-test";
    public const string ExtraHeader = "x-datastack-test";

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    public OtlpReceiver Receiver { get; private set; } = null!;

    public string ApiKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public string DatabasePassword { get; private set; } = "";

    public string DataDir { get; } = Directory.CreateTempSubdirectory("datastack-otel-").FullName;

    /// <summary>The client's span context sent with <c>POST /jobs</c>.</summary>
    public (ActivityTraceId TraceId, ActivitySpanId SpanId) SubmitContext { get; private set; }

    /// <summary>The trace id sent with every health probe.</summary>
    public ActivityTraceId HealthProbeTraceId { get; private set; }

    public Job SucceededJob { get; private set; } = null!;

    public Job FailedJob { get; private set; } = null!;

    public string ConsoleOutput { get; private set; } = "";

    public int ExitCode { get; private set; }

    public async Task InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        var postgres = await PostgresServer.SharedAsync();
        var connectionString = await postgres.CreateDatabaseAsync("otel");
        DatabasePassword = new NpgsqlConnectionStringBuilder(connectionString).Password!;

        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = $"{ExtraHeader}=yes",
            ["OTEL_SERVICE_NAME"] = ServiceName,
            ["OTEL_RESOURCE_ATTRIBUTES"] = $"{ResourceAttribute}={ResourceAttributeValue}",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "250",
            // Everything down to Debug, so the secret checks see the chattiest logs Processing can write.
            ["Logging__LogLevel__Default"] = "Debug",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Debug",
        };

        await using var process = await ProcessingProcess.StartAsync(connectionString, DataDir, ApiKey, environment, s_timeout);
        try
        {
            await DriveTrafficAsync(process.BaseAddress);
            await Poll.UntilAsync(
                () => Receiver.Spans().Any(s => s.Name == "job noop")
                    && Receiver.Logs().Any(l => l.Body.Contains(SucceededJob.Id.ToString(), StringComparison.Ordinal))
                    && Receiver.Metrics().Any(m => m.Name == "datastack.jobs.completed"),
                s_timeout,
                "the job's span, its log and the job metrics at the OTLP receiver");
            await process.StopAsync(s_timeout);
            ExitCode = process.ExitCode;
        }
        finally
        {
            ConsoleOutput = process.Output;
        }
    }

    public async Task DisposeAsync()
    {
        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }

        Directory.Delete(DataDir, recursive: true);
    }

    private async Task DriveTrafficAsync(Uri baseAddress)
    {
        using var anonymous = TestClients.Create(baseAddress, apiKey: null);
        using var client = TestClients.Create(baseAddress, ApiKey);
        using var wrongKey = TestClients.Create(baseAddress, "not-the-key");

        var (healthHeader, healthTraceId, _) = TestClients.NewTraceParent();
        HealthProbeTraceId = healthTraceId;
        foreach (var path in new[] { "/health", "/alive", "/health", "/alive" })
        {
            using var probe = await anonymous.SendAsync(TestClients.Request(HttpMethod.Get, path, healthHeader));
            probe.EnsureSuccessStatusCode();
        }

        using (var rejected = await wrongKey.GetAsync("/jobs?limit=1"))
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, rejected.StatusCode);
        }

        var (submitHeader, traceId, spanId) = TestClients.NewTraceParent();
        SubmitContext = (traceId, spanId);
        SucceededJob = await SubmitAndWaitAsync(client, submitHeader, new { kind = "noop", args = new { } });
        FailedJob = await SubmitAndWaitAsync(client, traceParent: null, new { kind = "noop", args = new { fail = true } });
    }

    private static async Task<Job> SubmitAndWaitAsync(HttpClient client, string? traceParent, object body)
    {
        using var response = await client.SendAsync(TestClients.Request(HttpMethod.Post, "/jobs", traceParent, JsonContent.Create(body)));
        response.EnsureSuccessStatusCode();
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        return (await client.GetFromJsonAsync<Job>($"/jobs/{queued!.Id}/wait?timeout=30", JsonSerializerOptions.Web))!;
    }
}
