using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>OTLP over gRPC, the protocol Aspire configures for .NET projects by default.</summary>
public sealed class GrpcExportTests
{
    [Fact]
    public async Task SpansAndLogsAreExportedOverOtlpGrpc()
    {
        // Arrange
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var app = new ProcessingApp()
            .With("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.GrpcEndpoint)
            .With("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
            .With("OTEL_SERVICE_NAME", "processing-grpc")
            .With("OTEL_BSP_SCHEDULE_DELAY", "100")
            .With("OTEL_BLRP_SCHEDULE_DELAY", "100");
        await app.InitializeAsync();
        using var client = TestClients.Create(app.Client.BaseAddress!, app.ApiKey);
        var (header, traceId, _) = TestClients.NewTraceParent();

        // Act
        using (var response = await client.SendAsync(TestClients.Request(HttpMethod.Get, "/jobs?limit=1", header)))
        {
            response.EnsureSuccessStatusCode();
        }

        await Poll.UntilAsync(
            // The request's SQL span may be exported in an earlier batch than its server span: wait for the latter.
            () => receiver.Spans().Any(s => s.TraceId == traceId.ToHexString() && s.Scope == "Microsoft.AspNetCore")
                && receiver.Logs().Any(),
            TimeSpan.FromSeconds(30),
            "the request's span and some logs over gRPC");

        // Assert
        Assert.All(receiver.Requests, r => Assert.Equal("application/grpc", r.ContentType));
        var span = Assert.Single(receiver.Spans(), s => s.TraceId == traceId.ToHexString() && s.Scope == "Microsoft.AspNetCore");
        Assert.Equal("processing-grpc", span.Resource["service.name"]);
    }
}
