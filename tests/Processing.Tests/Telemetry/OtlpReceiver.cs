using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// A real OTLP/HTTP endpoint (Kestrel on a loopback port) that keeps every protobuf body posted to
/// <c>/v1/traces</c>, <c>/v1/metrics</c> and <c>/v1/logs</c>, as the Aspire dashboard would receive them.
/// <c>GET /echo</c> records the <c>traceparent</c> header of the request, to see what an HttpClient sends.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<OtlpRequest> _requests = new();
    private readonly ConcurrentQueue<string?> _echoedTraceParents = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>Base address, e.g. <c>http://127.0.0.1:41234</c> — the value of <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public string Endpoint { get; private set; } = "";

    public IReadOnlyCollection<OtlpRequest> Requests => _requests;

    public IReadOnlyCollection<string?> EchoedTraceParents => _echoedTraceParents;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request, CancellationToken cancellationToken) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, cancellationToken);
            var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            receiver._requests.Enqueue(new OtlpRequest(signal, request.ContentType, headers, body.ToArray()));

            // An empty Export*ServiceResponse: everything accepted.
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapGet("/echo", (HttpRequest request) =>
        {
            receiver._echoedTraceParents.Enqueue(request.Headers["traceparent"].FirstOrDefault());
            return Results.Ok();
        });
        await app.StartAsync();
        receiver.Endpoint = app.Urls.Single().TrimEnd('/');
        return receiver;
    }

    public IEnumerable<OtlpRequest> Signal(string signal) => _requests.Where(r => r.Signal == signal);

    public IReadOnlyList<OtlpSpan> Spans() => [.. Signal("traces").SelectMany(r => OtlpPayload.ReadSpans(r.Body))];

    public IReadOnlyList<OtlpLogRecord> Logs() => [.. Signal("logs").SelectMany(r => OtlpPayload.ReadLogs(r.Body))];

    public IReadOnlyList<OtlpMetric> Metrics() => [.. Signal("metrics").SelectMany(r => OtlpPayload.ReadMetrics(r.Body))];

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>One export request as it arrived.</summary>
public sealed record OtlpRequest(string Signal, string? ContentType, IReadOnlyDictionary<string, string> Headers, byte[] Body);
