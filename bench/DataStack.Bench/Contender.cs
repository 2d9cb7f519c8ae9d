namespace DataStack.Bench;

/// <summary>One side of a comparison: a name and one timed run (returns milliseconds).</summary>
public sealed record Contender(string Name, Func<CancellationToken, Task<double>> RunMs)
{
    /// <summary>
    /// Runs every contender once per round, rotating who goes first each round, so that noise from the
    /// shared machine (other builds, page cache, autovacuum) lands on every side alike. Returns the samples
    /// per contender in run order.
    /// </summary>
    public static async Task<Dictionary<string, List<double>>> AlternateAsync(
        IReadOnlyList<Contender> contenders, int rounds, CancellationToken cancellationToken)
    {
        var samples = contenders.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < contenders.Count; i++)
            {
                var contender = contenders[(round + i) % contenders.Count];
                var ms = await contender.RunMs(cancellationToken);
                samples[contender.Name].Add(ms);
                Console.WriteLine($"    round {round + 1}/{rounds} {contender.Name}: {Report.Ms(ms)}");
            }
        }

        return samples;
    }
}
