using System.Diagnostics;

namespace DataStack.Bench;

/// <summary>
/// The 10M-row run: one ingest through a fresh Processing replica, so its peak resident set (VmHWM, the
/// kernel's high-water mark of RSS) belongs to that ingest; one psql \copy of the same file for scale.
/// </summary>
public static class MemoryBench
{
    public const double TargetMb = 256;

    public static async Task RunAsync(BenchEnvironment env, BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== memory: {options.BigRows:N0} rows");
        var csv = CsvGenerator.Ensure(env.DataDir, options.BigRows);
        var section = $"1b ingest {options.BigRows / 1e6:0.##}M rows ({new FileInfo(csv).Length / 1e6:F0} MB)";
        await using var processing = await env.StartProcessingAsync(cancellationToken: cancellationToken);
        using var client = processing.CreateClient();
        var (idlePeak, _) = BenchEnvironment.Memory(processing.Pid);

        var started = Stopwatch.GetTimestamp();
        var job = await ProcessingApi.IngestFileAsync(client, "bench_big", Path.GetFileName(csv), cancellationToken);
        var processingMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var (peak, rss) = BenchEnvironment.Memory(processing.Pid);
        if (job.Status != "succeeded")
        {
            throw new InvalidOperationException($"10M ingest ended {job.Status}: {job.Error}");
        }

        await env.ExecuteAsync($"DROP TABLE IF EXISTS {IngestBench.PsqlTable}", cancellationToken, asOwner: true);
        var psqlMs = await env.RunPsqlAsync(IngestBench.CopyCommands(csv), cancellationToken);

        report.Add(section, "Processing peak RSS (VmHWM) after the ingest", $"{Report.Num(peak, "F0")} MB (after start-up {Report.Num(idlePeak, "F0")} MB; RSS now {Report.Num(rss, "F0")} MB)", $"≤ {TargetMb:F0} MB", peak <= TargetMb);
        report.Add(section, "POST ingest vs psql \\copy (one run each)", $"{Report.Ms(processingMs)} vs {Report.Ms(psqlMs)} = {Report.Num(processingMs / psqlMs)}×");
        await env.ExecuteAsync($"DROP TABLE IF EXISTS {IngestBench.PsqlTable}", cancellationToken);
    }
}
