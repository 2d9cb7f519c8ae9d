using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataStack.AppHost;

/// <summary>
/// Says on the AppHost's console why a resource could not start, with the last lines of its own log.
/// </summary>
/// <remarks>
/// Without it the console stays quiet: DCP logs a failed image pull or build at Debug, only the dashboard's
/// resource page shows <c>FailedToStart</c>, and everything that waits for the resource sits in <c>Waiting</c>.
/// </remarks>
internal sealed partial class StartupProblemReporter(
    ResourceNotificationService notifications,
    ResourceLoggerService resourceLogs,
    ILogger<StartupProblemReporter> logger) : BackgroundService
{
    private const int LogLinesShown = 8;

    private readonly HashSet<string> _reported = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
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
                    Log.ResourceFailedToStart(logger, resourceEvent.Resource.Name, state, lines.Count == 0 ? "(it wrote no log)" : string.Join(Environment.NewLine, lines));
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
        [LoggerMessage(EventId = 1, Level = LogLevel.Error,
            Message = "Resource '{ResourceName}' is {State}. Its last log lines:\n{LogLines}\nA missing image? Check the Images:* and Jupyter:* settings (README, \"Images\"); is Docker running ('docker info')?")]
        public static partial void ResourceFailedToStart(ILogger logger, string resourceName, string state, string logLines);
    }
}
