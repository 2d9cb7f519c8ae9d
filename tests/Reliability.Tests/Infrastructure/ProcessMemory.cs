namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>What the kernel says a process uses (Linux <c>/proc</c>).</summary>
public static class ProcessMemory
{
    /// <summary>Resident set size in bytes, from <c>VmRSS</c> in <c>/proc/{pid}/status</c>.</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                return kilobytes * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS line.");
    }
}
