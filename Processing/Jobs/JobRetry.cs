using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>
/// How the runner treats a job that threw something other than <see cref="JobFailedException"/>: the error code
/// stored on the job, and how long it waits before the next attempt.
/// </summary>
internal static class JobRetry
{
    /// <summary><c>postgres_{SQLSTATE}</c> for a server error, <c>transient</c> for a connection, I/O or timeout error, else <c>internal</c>.</summary>
    public static string ErrorCode(Exception exception) => exception switch
    {
        PostgresException pg => $"postgres_{pg.SqlState}",
        NpgsqlException or IOException or TimeoutException => "transient",
        _ => "internal",
    };

    /// <summary>Exponential from 0.5 s, capped at 30 s, with ±25 % jitter so replicas do not retry in step.</summary>
    public static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(30_000, 500 * Math.Pow(2, attempt - 1)) * (0.75 + (Random.Shared.NextDouble() / 2)));
}
