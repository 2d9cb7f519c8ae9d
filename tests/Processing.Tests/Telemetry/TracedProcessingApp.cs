using System.Collections.Concurrent;
using System.Diagnostics;
using DataStack.Processing.Telemetry;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// Processing in this process with tracing on (its OTLP settings given as configuration keys, exporting to an
/// <see cref="OtlpReceiver"/>), and an <see cref="ActivityListener"/> that sees every span it starts. The
/// listener samples nothing itself (<see cref="ActivitySamplingResult.None"/>), so whether a span is created
/// and recorded is exactly the service's own OpenTelemetry decision. <c>Processing:JobTraceMode</c> is the
/// default unless a derived fixture sets it.
/// </summary>
public class TracedProcessingApp : IAsyncLifetime
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly JobTraceMode? _jobTraceMode;
    private ActivityListener? _listener;

    public TracedProcessingApp()
        : this(jobTraceMode: null)
    {
    }

    protected TracedProcessingApp(JobTraceMode? jobTraceMode) => _jobTraceMode = jobTraceMode;

    public OtlpReceiver Receiver { get; private set; } = null!;

    public ProcessingApp App { get; } = new();

    /// <summary>Spans that ended, from every source the service traces (and every app in this test process).</summary>
    public IReadOnlyCollection<Activity> Stopped => _stopped;

    public async Task InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or "System.Net.Http" or "Npgsql" or ProcessingTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            SampleUsingParentId = (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.None,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);

        App.With("OTEL_EXPORTER_OTLP_ENDPOINT", Receiver.Endpoint)
            .With("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .With("OTEL_SERVICE_NAME", "processing-in-process")
            .With("OTEL_BSP_SCHEDULE_DELAY", "100");
        if (_jobTraceMode is { } mode)
        {
            App.With("Processing:JobTraceMode", mode.ToString());
        }

        await App.InitializeAsync();
    }

    /// <summary>Waits (bounded) for the spans of a trace that match, and returns them.</summary>
    public async Task<IReadOnlyList<Activity>> SpansAsync(Func<Activity, bool> match, string what)
    {
        await Poll.UntilAsync(() => _stopped.Any(match), TimeSpan.FromSeconds(30), what);
        return [.. _stopped.Where(match)];
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        _listener?.Dispose();
        await Receiver.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
