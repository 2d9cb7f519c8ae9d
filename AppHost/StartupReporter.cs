using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataStack.AppHost;

/// <summary>
/// Says on the AppHost's console when every resource is healthy, and why a resource could not start, with the
/// last lines of its own log. At Debug (<c>--Logging:LogLevel:DataStack.AppHost=Debug</c>) it also writes every
/// resource's state and health changes with the seconds since the AppHost started: the timeline of a start.
/// </summary>
/// <remarks>
/// Without it the console stays quiet: DCP logs a failed image pull or build at Debug, only the dashboard's
/// resource page shows <c>FailedToStart</c>, and everything that waits for the resource sits in <c>Waiting</c>.
/// </remarks>
internal sealed partial class StartupReporter(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    ResourceLoggerService resourceLogs,
    IConfiguration configuration,
    ILogger<StartupReporter> logger) : IHostedLifecycleService, IDisposable
{
    private const int LogLinesShown = 8;

    private readonly HashSet<string> _reported = [];

    private readonly Dictionary<string, (string? State, string? Health)> _lastSeen = [];

    private readonly CancellationTokenSource _stopping = new();

    private Task _reporting = Task.CompletedTask;

    /// <summary>
    /// Starts watching before any hosted service starts (Aspire's orchestrator among them), so that the timeline has
    /// the first states too; a watch started from <c>StartAsync</c> would only begin once the resources are created.
    /// </summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _reporting = Task.WhenAll(ReportHealthyAsync(_stopping.Token), WatchResourcesAsync(_stopping.Token));
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _reporting.WaitAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    private async Task ReportHealthyAsync(CancellationToken stoppingToken)
    {
        // Parameters never turn healthy, and resources that are not started with the AppHost (explicit start, such as
        // Aspire's hidden `processing-rebuilder`) would keep this waiting for ever.
        var names = model.Resources
            .Where(resource => resource is not ParameterResource && !resource.Annotations.OfType<ExplicitStartupAnnotation>().Any())
            .Select(resource => resource.Name)
            .ToList();
        try
        {
            await Task.WhenAll(names.Select(name => notifications.WaitForResourceHealthyAsync(name, WaitBehavior.StopOnResourceUnavailable, stoppingToken)));
            Log.AllHealthy(logger, names.Count, SecondsSinceStart(), string.Join(", ", names));
        }
        catch (DistributedApplicationException)
        {
            // A resource failed to start: WatchResourcesAsync says which and why.
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
    }

    private async Task WatchResourcesAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var resourceEvent in notifications.WatchAsync(stoppingToken))
            {
                var state = resourceEvent.Snapshot.State?.Text;
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    WriteTimeline(resourceEvent, state);
                }

                if (state != KnownResourceStates.FailedToStart && state != KnownResourceStates.RuntimeUnhealthy)
                {
                    continue;
                }

                if (_reported.Add(resourceEvent.ResourceId))
                {
                    var lines = await LastLinesAsync(resourceEvent.ResourceId, stoppingToken);
                    var image = await ContainerImageProbe.DescribeUnavailableImageAsync(resourceEvent.Resource, ContainerRuntime.From(configuration), stoppingToken);
                    Log.ResourceFailedToStart(logger, resourceEvent.Resource.Name, state, image is null ? "" : $": {image}", lines.Count == 0 ? "(it wrote no log)" : string.Join(Environment.NewLine, lines));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
    }

    /// <summary>One line per change of a resource instance's state or health, timed from the AppHost's start.</summary>
    private void WriteTimeline(ResourceEvent resourceEvent, string? state)
    {
        // DCP's snapshots pass through states without a name while it creates an object; they say nothing.
        var health = resourceEvent.Snapshot.HealthStatus?.ToString();
        if (string.IsNullOrEmpty(state) || (_lastSeen.TryGetValue(resourceEvent.ResourceId, out var last) && last == (state, health)))
        {
            return;
        }

        _lastSeen[resourceEvent.ResourceId] = (state, health);
        Log.ResourceChanged(logger, SecondsSinceStart(), resourceEvent.ResourceId, state, health ?? "-");
    }

    /// <summary>From the AppHost process's start, which is what a person waiting at the console experiences.</summary>
    private static double SecondsSinceStart()
    {
        using var process = Process.GetCurrentProcess();
        return (DateTime.Now - process.StartTime).TotalSeconds;
    }

    private async Task<List<string>> LastLinesAsync(string resourceId, CancellationToken cancellationToken)
    {
        var last = new Queue<string>(LogLinesShown);
        await foreach (var batch in resourceLogs.GetAllAsync(resourceId).WithCancellation(cancellationToken))
        {
            foreach (var line in batch.Where(line => !line.Content.StartsWith("--- End of stack trace", StringComparison.Ordinal)))
            {
                if (last.Count == LogLinesShown)
                {
                    last.Dequeue();
                }

                last.Enqueue(line.Content);
            }
        }

        return [.. last];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "All {ResourceCount} resources are healthy, {Seconds:F1} s after the AppHost started: {ResourceNames}")]
        public static partial void AllHealthy(ILogger logger, int resourceCount, double seconds, string resourceNames);

        [LoggerMessage(EventId = 1, Level = LogLevel.Error,
            Message = "Resource '{ResourceName}' is {State}{ImageProblem}. Its last log lines:\n{LogLines}\nA missing image? Check the Images:*, Jupyter:* and Runner:* settings (README, \"Images\"); is Docker running ('docker info')?")]
        public static partial void ResourceFailedToStart(ILogger logger, string resourceName, string state, string imageProblem, string logLines);

        [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{Seconds:F2} s {ResourceId}: {State}, health {Health}")]
        public static partial void ResourceChanged(ILogger logger, double seconds, string resourceId, string state, string health);
    }
}
