namespace DataStack.ServiceDefaults;

/// <summary>
/// What a service traces and measures besides .NET's own sources. Services add their own
/// <see cref="System.Diagnostics.ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/> names:
/// <code>builder.AddServiceDefaults(telemetry => telemetry.AddSource("My.Service").AddMeter("My.Service"));</code>
/// </summary>
public sealed class ServiceTelemetry
{
    /// <summary>
    /// .NET 10's built-in spans: ASP.NET Core server spans, HttpClient spans (W3C <c>traceparent</c> out),
    /// and Npgsql's command spans.
    /// </summary>
    public static IReadOnlyList<string> DefaultSources { get; } = ["Microsoft.AspNetCore", "System.Net.Http", "Npgsql"];

    /// <summary>.NET 10's built-in meters: HTTP server and client, Kestrel, the runtime, and Npgsql.</summary>
    public static IReadOnlyList<string> DefaultMeters { get; } =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "System.Net.Http",
        "System.Runtime",
        "Npgsql",
    ];

    private readonly List<string> _sources = [.. DefaultSources];
    private readonly List<string> _meters = [.. DefaultMeters];

    public IReadOnlyList<string> Sources => _sources;

    public IReadOnlyList<string> Meters => _meters;

    /// <summary>Also exports the spans of these activity sources.</summary>
    public ServiceTelemetry AddSource(params string[] names)
    {
        _sources.AddRange(names.Where(name => !_sources.Contains(name, StringComparer.Ordinal)));
        return this;
    }

    /// <summary>Also exports the instruments of these meters.</summary>
    public ServiceTelemetry AddMeter(params string[] names)
    {
        _meters.AddRange(names.Where(name => !_meters.Contains(name, StringComparer.Ordinal)));
        return this;
    }
}
