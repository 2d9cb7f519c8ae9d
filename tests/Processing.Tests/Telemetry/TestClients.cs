using System.Diagnostics;
using System.Net.Http.Headers;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>HTTP clients whose requests carry exactly the trace context a test gives them.</summary>
public static class TestClients
{
    /// <summary>
    /// A client that never adds a <c>traceparent</c> of its own, so a header set by the test is the only one the
    /// server sees. Without a propagator the handler has no diagnostics stage at all: no client span, and no
    /// events for the HttpClient instrumentation of an in-process app to inject its own context into.
    /// </summary>
    public static HttpClient Create(Uri baseAddress, string? apiKey)
    {
        var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null };
        var client = new HttpClient(handler) { BaseAddress = baseAddress };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>A fresh sampled client span context, as a W3C <c>traceparent</c> header and its parts.</summary>
    public static (string Header, ActivityTraceId TraceId, ActivitySpanId SpanId) NewTraceParent()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var spanId = ActivitySpanId.CreateRandom();
        return ($"00-{traceId}-{spanId}-01", traceId, spanId);
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? traceParent, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (traceParent is not null)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        }

        return request;
    }
}
