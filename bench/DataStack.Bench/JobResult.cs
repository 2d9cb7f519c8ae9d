namespace DataStack.Bench;

/// <summary>The parts of a finished job the benchmark looks at.</summary>
public sealed record JobResult(Guid Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error)
{
    /// <summary>Server-side submit → finished, in ms.</summary>
    public double ServerMs => FinishedAt is { } finished ? (finished - CreatedAt).TotalMilliseconds : double.NaN;
}
