using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DataStack.AppHost;

/// <summary>
/// One of the AppHost's health checks, made to answer as soon as a starting resource is ready: until the check
/// has passed once, a probe repeats it every <see cref="Interval"/> for up to <see cref="Budget"/> and answers on
/// the first pass. From then on it is the check itself, unchanged.
/// </summary>
/// <remarks>
/// Aspire probes a resource when it turns Running, then 1, 2, 3, 4 and 5 s after each unhealthy answer (at 0, 1, 3,
/// 6, 10, 15 s...), and whatever waits for the resource starts only on the next healthy answer. A database that
/// accepts connections 1.2 s after its container started was seen at 3 s, the <c>analytics</c> database created
/// just after postgres's first healthy answer a second later, Jupyter's server up 1.1 s after its start at 3 s:
/// every hop of the start paid up to the gap between two probes. Polling only until the first pass keeps a
/// later failure (a killed postgres container) reported by the very next probe, as before.
/// </remarks>
internal sealed class UntilReadyHealthCheck(IHealthCheck check, UntilReadyHealthCheck.FirstPass firstPass) : IHealthCheck
{
    /// <summary>How often a probe repeats the check while the resource is not ready yet.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long one probe keeps trying before it answers unhealthy (and Aspire waits for its next probe): longer than
    /// a resource here takes to become ready once Running, short enough that a resource that never does shows why
    /// in the dashboard within seconds.
    /// </summary>
    public static TimeSpan Budget { get; } = TimeSpan.FromSeconds(10);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (firstPass.Seen)
        {
            return await check.CheckHealthAsync(context, cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var result = await CheckOnceAsync(context, cancellationToken);
            if (result.Status == HealthStatus.Healthy)
            {
                firstPass.Seen = true;
                return result;
            }

            if (Stopwatch.GetElapsedTime(started) + Interval > Budget)
            {
                return result;
            }

            await Task.Delay(Interval, cancellationToken);
        }
    }

    /// <summary>
    /// Wraps every health check registered in the AppHost (Aspire's for postgres and the database, the HTTP checks of
    /// processing and jupyter, the dashboard's) in an <see cref="UntilReadyHealthCheck"/>.
    /// </summary>
    public static void WrapAll(HealthCheckServiceOptions options)
    {
        foreach (var registration in options.Registrations)
        {
            var factory = registration.Factory;
            var firstPass = new FirstPass();
            registration.Factory = services => new UntilReadyHealthCheck(factory(services), firstPass);
        }
    }

    // A check that throws is unhealthy, as HealthCheckService itself would report it; the next repetition may pass.
    private async Task<HealthCheckResult> CheckOnceAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await check.CheckHealthAsync(context, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, exception.Message, exception);
        }
    }

    /// <summary>Whether a check (one registration, shared by all its probes) has passed once.</summary>
    internal sealed class FirstPass
    {
        private volatile bool _seen;

        public bool Seen
        {
            get => _seen;
            set => _seen = value;
        }
    }
}
