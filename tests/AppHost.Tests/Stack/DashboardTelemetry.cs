using System.Net.Http.Json;
using System.Text.Json;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The dashboard's telemetry HTTP API (<c>/api/telemetry/…</c>, OTLP JSON, <c>X-API-Key</c>): what the dashboard
/// itself received from every resource, as the <c>aspire otel</c> commands read it.
/// </summary>
internal sealed class DashboardTelemetry(HttpClient http) : IDisposable
{
    public static async Task<DashboardTelemetry> CreateAsync(StackFixture stack, CancellationToken cancellationToken)
    {
        var login = await stack.App.GetDashboardUrlAsync(cancellationToken);
        var http = new HttpClient(new HttpClientHandler
        {
            // The dashboard serves the Aspire developer certificate.
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        })
        {
            BaseAddress = new Uri(login.GetLeftPart(UriPartial.Authority)),
        };
        http.DefaultRequestHeaders.Add("X-API-Key", stack.DashboardApiKey);
        return new DashboardTelemetry(http);
    }

    public HttpClient Http => http;

    /// <summary>Spans of one trace, flattened, each with the <c>service.name</c> of the resource that sent it.</summary>
    public Task<List<Span>> GetSpansAsync(string traceId, CancellationToken cancellationToken) =>
        ReadSpansAsync($"/api/telemetry/spans?traceId={traceId}&limit=1000", cancellationToken);

    /// <summary>The <c>service.name</c> of every resource the dashboard holds structured logs of.</summary>
    public async Task<HashSet<string>> GetLogServicesAsync(CancellationToken cancellationToken)
    {
        using var document = await http.GetFromJsonAsync<JsonDocument>("/api/telemetry/logs?limit=1000", cancellationToken)
            ?? throw new InvalidOperationException("The dashboard answered no JSON.");
        return document.RootElement.GetProperty("data").TryGetProperty("resourceLogs", out var resourceLogs)
            ? [.. resourceLogs.EnumerateArray().Select(r => Attributes(r.GetProperty("resource")).GetValueOrDefault("service.name") ?? "")]
            : [];
    }

    /// <summary>Every span the dashboard holds (up to 5,000), flattened as in <see cref="GetSpansAsync"/>.</summary>
    public Task<List<Span>> GetAllSpansAsync(CancellationToken cancellationToken) =>
        ReadSpansAsync("/api/telemetry/spans?limit=5000", cancellationToken);

    /// <summary>One trace as the dashboard's API answers it (OTLP JSON), for scans of everything it holds.</summary>
    public Task<string> GetTraceJsonAsync(string traceId, CancellationToken cancellationToken) =>
        http.GetStringAsync($"/api/telemetry/spans?traceId={traceId}&limit=1000", cancellationToken);

    public Task<string> GetLogsJsonAsync(CancellationToken cancellationToken) =>
        http.GetStringAsync("/api/telemetry/logs?limit=10000", cancellationToken);

    public Task<string> GetSpansJsonAsync(CancellationToken cancellationToken) =>
        http.GetStringAsync("/api/telemetry/spans?limit=5000", cancellationToken);

    /// <summary>
    /// Asks again until <paramref name="condition"/> holds: exporters send in batches, a few seconds apart.
    /// </summary>
    public Task<List<Span>> WaitForSpansAsync(string traceId, Func<List<Span>, bool> condition, CancellationToken cancellationToken) =>
        WaitForAsync(() => GetSpansAsync(traceId, cancellationToken), condition, cancellationToken);

    /// <summary>Asks again until <paramref name="condition"/> holds over every span the dashboard holds.</summary>
    public Task<List<Span>> WaitForAllSpansAsync(Func<List<Span>, bool> condition, CancellationToken cancellationToken) =>
        WaitForAsync(() => GetAllSpansAsync(cancellationToken), condition, cancellationToken);

    public void Dispose() => http.Dispose();

    private async Task<List<Span>> ReadSpansAsync(string url, CancellationToken cancellationToken)
    {
        using var document = await http.GetFromJsonAsync<JsonDocument>(url, cancellationToken)
            ?? throw new InvalidOperationException("The dashboard answered no JSON.");
        return [.. ReadSpans(document.RootElement.GetProperty("data"))];
    }

    /// <summary>Reads the spans again, half a second apart, until <paramref name="condition"/> holds (the test's token bounds it).</summary>
    private static async Task<List<Span>> WaitForAsync(Func<Task<List<Span>>> read, Func<List<Span>, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var spans = await read();
            if (condition(spans))
            {
                return spans;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static IEnumerable<Span> ReadSpans(JsonElement data)
    {
        if (!data.TryGetProperty("resourceSpans", out var resourceSpans))
        {
            yield break;
        }

        foreach (var resourceSpan in resourceSpans.EnumerateArray())
        {
            var service = Attributes(resourceSpan.GetProperty("resource")).GetValueOrDefault("service.name") ?? "";
            foreach (var scopeSpan in resourceSpan.GetProperty("scopeSpans").EnumerateArray())
            {
                foreach (var span in scopeSpan.GetProperty("spans").EnumerateArray())
                {
                    var links = span.TryGetProperty("links", out var linkArray)
                        ? linkArray.EnumerateArray().Select(link => (link.GetProperty("traceId").GetString()!, link.GetProperty("spanId").GetString()!)).ToList()
                        : [];
                    yield return new Span(
                        service,
                        span.GetProperty("traceId").GetString()!,
                        span.GetProperty("spanId").GetString()!,
                        span.TryGetProperty("parentSpanId", out var parent) && parent.GetString() is { Length: > 0 } parentId ? parentId : null,
                        span.GetProperty("name").GetString()!,
                        Attributes(span),
                        links)
                    {
                        IsError = span.TryGetProperty("status", out var status) && status.TryGetProperty("code", out var code)
                            && (code.ValueKind == JsonValueKind.Number ? code.GetInt32() == 2 : code.GetString() == "STATUS_CODE_ERROR"),
                    };
                }
            }
        }
    }

    private static Dictionary<string, string?> Attributes(JsonElement element)
    {
        var attributes = new Dictionary<string, string?>();
        if (element.TryGetProperty("attributes", out var list))
        {
            foreach (var attribute in list.EnumerateArray())
            {
                var value = attribute.GetProperty("value");
                attributes[attribute.GetProperty("key").GetString()!] = value.EnumerateObject().FirstOrDefault().Value.ToString();
            }
        }

        return attributes;
    }

    /// <summary>One span as the dashboard stored it.</summary>
    public sealed record Span(
        string Service,
        string TraceId,
        string SpanId,
        string? ParentSpanId,
        string Name,
        Dictionary<string, string?> Attributes,
        List<(string TraceId, string SpanId)> Links)
    {
        /// <summary>The span's status is ERROR (OTLP status code 2).</summary>
        public bool IsError { get; init; }

        /// <summary>A database client span (Npgsql's, psycopg's).</summary>
        public bool IsSql => Attributes.ContainsKey("db.system") || Attributes.ContainsKey("db.system.name");

        public bool IsJobIngest => Name == "job ingest";
    }
}
