using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataStack.AppHost;

/// <summary>
/// Says on the AppHost's console when every resource is healthy, and why a resource could not start, with the
/// last lines of its own log.
/// </summary>
/// <remarks>
/// Without it the console stays quiet: DCP logs a failed image pull or build at Debug, only the dashboard's
/// resource page shows <c>FailedToStart</c>, and everything that waits for the resource sits in <c>Waiting</c>.
/// </remarks>
internal sealed partial class StartupReporter(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    ResourceLoggerService resourceLogs,
    ILogger<StartupReporter> logger) : BackgroundService
{
    private const int LogLinesShown = 8;

    private readonly HashSet<string> _reported = [];

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ReportHealthyAsync(stoppingToken), ReportFailuresAsync(stoppingToken));

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
            // From the AppHost process's start, which is what a person waiting at the console experiences.
            using var process = Process.GetCurrentProcess();
            Log.AllHealthy(logger, names.Count, (DateTime.Now - process.StartTime).TotalSeconds, string.Join(", ", names));
        }
        catch (DistributedApplicationException)
        {
            // A resource failed to start: ReportFailuresAsync says which and why.
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
    }

    private async Task ReportFailuresAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var resourceEvent in notifications.WatchAsync(stoppingToken))
            {
                var state = resourceEvent.Snapshot.State?.Text;
                if (state != KnownResourceStates.FailedToStart && state != KnownResourceStates.RuntimeUnhealthy)
                {
                    continue;
                }

                if (_reported.Add(resourceEvent.ResourceId))
                {
                    var lines = await LastLinesAsync(resourceEvent.ResourceId, stoppingToken);
                    var image = await ContainerImageProbe.DescribeUnavailableImageAsync(resourceEvent.Resource, stoppingToken);
                    Log.ResourceFailedToStart(logger, resourceEvent.Resource.Name, state, image is null ? "" : $": {image}", lines.Count == 0 ? "(it wrote no log)" : string.Join(Environment.NewLine, lines));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
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
            Message = "Resource '{ResourceName}' is {State}{ImageProblem}. Its last log lines:\n{LogLines}\nA missing image? Check the Images:* and Jupyter:* settings (README, \"Images\"); is Docker running ('docker info')?")]
        public static partial void ResourceFailedToStart(ILogger logger, string resourceName, string state, string imageProblem, string logLines);
    }
}
