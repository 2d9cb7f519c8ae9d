namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>Bounded waits: probe until a condition holds or a deadline passes. Never a bare sleep.</summary>
public static class Poll
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Probes until <paramref name="done"/> holds for the probe's value; throws with <paramref name="what"/> at the deadline.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what, Func<string>? explain = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        T value;
        while (true)
        {
            value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow >= deadline)
            {
                break;
            }

            await Task.Delay(s_interval);
        }

        throw new TimeoutException($"Not within {timeout.TotalSeconds:F0}s: {what}. Last value: {value}\n{explain?.Invoke()}");
    }

    public static Task UntilAsync(Func<Task<bool>> probe, TimeSpan timeout, string what, Func<string>? explain = null) =>
        UntilAsync(probe, ok => ok, timeout, what, explain);
}
