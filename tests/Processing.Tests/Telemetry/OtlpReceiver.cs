using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// A real OTLP endpoint (Kestrel on loopback ports) that keeps every protobuf message it is sent, as the Aspire
/// dashboard would receive them: OTLP/HTTP (<c>POST /v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>) on
/// <see cref="Endpoint"/>, and OTLP/gRPC (unary <c>…Service/Export</c> calls over cleartext HTTP/2) on
/// <see cref="GrpcEndpoint"/>.
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

    /// <summary>The OTLP/gRPC address, for <c>OTEL_EXPORTER_OTLP_PROTOCOL=grpc</c>.</summary>
    public string GrpcEndpoint { get; private set; } = "";

    public IReadOnlyCollection<OtlpRequest> Requests => _requests;

    public IReadOnlyCollection<string?> EchoedTraceParents => _echoedTraceParents;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ListenOptions http = null!;
        ListenOptions grpc = null!;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, options => http = options);
            kestrel.Listen(IPAddress.Loopback, 0, options =>
            {
                options.Protocols = HttpProtocols.Http2;
                grpc = options;
            });
        });
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
        app.MapPost("/opentelemetry.proto.collector.{signal}.v1.{service}/Export", async (string signal, HttpContext context) =>
        {
            // A gRPC message: 1 byte "compressed" flag, 4 bytes big-endian length, then the protobuf message.
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var framed = body.ToArray();
            var length = BinaryPrimitives.ReadInt32BigEndian(framed.AsSpan(1, 4));
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            // The gRPC packages are opentelemetry.proto.collector.{trace|metrics|logs}.v1; name them like the HTTP paths.
            var name = signal == "trace" ? "traces" : signal;
            receiver._requests.Enqueue(new OtlpRequest(name, context.Request.ContentType, headers, framed.AsSpan(5, length).ToArray()));

            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(new byte[5], context.RequestAborted);
            context.Response.AppendTrailer("grpc-status", "0");
        });
        app.MapGet("/echo", (HttpRequest request) =>
        {
            receiver._echoedTraceParents.Enqueue(request.Headers["traceparent"].FirstOrDefault());
            return Results.Ok();
        });
        await app.StartAsync();
        receiver.Endpoint = $"http://127.0.0.1:{http.IPEndPoint!.Port}";
        receiver.GrpcEndpoint = $"http://127.0.0.1:{grpc.IPEndPoint!.Port}";
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
