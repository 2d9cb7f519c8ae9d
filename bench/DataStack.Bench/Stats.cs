namespace DataStack.Bench;

/// <summary>Medians and percentiles of a handful of samples (nearest-rank; no interpolation games).</summary>
public static class Stats
{
    public static double Median(IReadOnlyList<double> samples) => Percentile(samples, 50);

    public static double Percentile(IReadOnlyList<double> samples, double percent)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = samples.Order().ToArray();
        if (percent == 50 && sorted.Length % 2 == 0)
        {
            return (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }

        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>(max − min) / median: how far apart the rounds of one contender were.</summary>
    public static double Spread(IReadOnlyList<double> samples) =>
        samples.Count < 2 ? 0 : (samples.Max() - samples.Min()) / Median(samples);
}
