namespace DataStack.Testing;

/// <summary>Bounded waits for what happens in the background: probe until a condition holds or a deadline passes. Never a bare sleep.</summary>
public static class Poll
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Probes until <paramref name="done"/> holds for the probe's value and returns that value; throws
    /// <see cref="TimeoutException"/> naming <paramref name="what"/> (and what <paramref name="explain"/> says) at the deadline.
    /// </summary>
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

    /// <summary>Probes until <paramref name="condition"/> holds.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? explain = null) =>
        UntilAsync(condition, ok => ok, timeout, what, explain);

    /// <summary>Checks until <paramref name="condition"/> holds.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? explain = null) =>
        UntilAsync(() => Task.FromResult(condition()), ok => ok, timeout, what, explain);
}
