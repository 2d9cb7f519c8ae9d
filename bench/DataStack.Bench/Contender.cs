namespace DataStack.Bench;

/// <summary>One side of a comparison: a name and one timed run (returns milliseconds).</summary>
public sealed record Contender(string Name, Func<CancellationToken, Task<double>> RunMs)
{
    /// <summary>
    /// Runs every contender once per round, rotating who goes first each round, so that noise from the
    /// shared machine (other builds, page cache, autovacuum) lands on every side alike. Returns the samples
    /// per contender in run order; <paramref name="quiet"/> prints one line for all rounds instead of one per run.
    /// </summary>
    public static async Task<Dictionary<string, List<double>>> AlternateAsync(
        IReadOnlyList<Contender> contenders, int rounds, CancellationToken cancellationToken, bool quiet = false)
    {
        var samples = contenders.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < contenders.Count; i++)
            {
                var contender = contenders[(round + i) % contenders.Count];
                var ms = await contender.RunMs(cancellationToken);
                samples[contender.Name].Add(ms);
                if (!quiet)
                {
                    Console.WriteLine($"    round {round + 1}/{rounds} {contender.Name}: {Report.Ms(ms)}");
                }
            }
        }

        if (quiet)
        {
            Console.WriteLine($"    {rounds} rounds: {string.Join(", ", samples.Select(s => $"{s.Key} median {Report.Ms(Stats.Median(s.Value))}"))}");
        }

        return samples;
    }
}
