using System.Diagnostics;

namespace DataStack.Bench;

/// <summary>
/// Section 1: ingest of the generated CSV. Processing through the upload path (<c>PUT</c>: the request scans the
/// body, copies it into a staged table and queues the job that swaps it in) and the data-folder path (<c>POST …/ingest</c>), types inferred, timed from submit to the job's
/// success as the client sees it; against <c>psql \copy</c> of the same file into a typed table created in the same
/// transaction and written frozen, as Processing's are.
/// </summary>
public static class IngestBench
{
    public const string PsqlTable = "public.bench_psql";

    public static async Task RunAsync(BenchEnvironment env, BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== ingest: {options.Rows:N0} rows, {options.Rounds} rounds");
        var csv = CsvGenerator.Ensure(env.DataDir, options.Rows);
        var warmup = CsvGenerator.Ensure(env.DataDir, 10_000);
        var megabytes = new FileInfo(csv).Length / 1e6;
        await using var processing = await env.StartProcessingAsync(cancellationToken: cancellationToken);
        using var client = processing.CreateClient();
        var cpu = new Dictionary<string, List<double>> { ["PUT upload"] = [], ["POST ingest"] = [] };
        var serverMs = new Dictionary<string, List<double>> { ["PUT upload"] = [], ["POST ingest"] = [] };

        Contender Psql(string path) => new("psql \\copy", async ct =>
        {
            await env.ExecuteAsync($"DROP TABLE IF EXISTS {PsqlTable}", ct, asOwner: true);
            return await env.RunPsqlAsync(CopyCommands(path), ct);
        });

        Contender Processing(string name, Func<CancellationToken, Task<JobResult>> run) => new(name, async ct =>
        {
            var cpuBefore = BenchEnvironment.CpuMs(processing.Pid);
            var started = Stopwatch.GetTimestamp();
            var job = await run(ct);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (job.Status != "succeeded")
            {
                throw new InvalidOperationException($"{name}: ingest job {job.Id} ended {job.Status}: {job.Error}");
            }

            if (cpu.TryGetValue(name, out var cpuSamples))
            {
                cpuSamples.Add(BenchEnvironment.CpuMs(processing.Pid) - cpuBefore);
                serverMs[name].Add(job.ServerMs);
            }

            return elapsed;
        });

        Contender[] For(string path) =>
        [
            Psql(path),
            Processing("PUT upload", ct => ProcessingApi.UploadAsync(client, "bench_put", path, ct)),
            Processing("POST ingest", ct => ProcessingApi.IngestFileAsync(client, "bench_post", Path.GetRelativePath(env.DataDir, path), ct)),
        ];

        // Warm-up, not recorded: connection pools, page cache, and the JIT's steady state. Tiered compilation
        // re-compiles a method optimised after 30 calls, and much of an ingest's path runs once per ingest, so
        // 40 small rounds come first. (The pandas section found that large bodies take paths small ones miss and
        // adds full-size uploads; this section's timed rounds were not re-measured with them.)
        await Contender.AlternateAsync(For(warmup), 40, cancellationToken, quiet: true);
        foreach (var list in cpu.Values.Concat(serverMs.Values))
        {
            list.Clear();
        }

        var samples = await Contender.AlternateAsync(For(csv), options.Rounds, cancellationToken);
        var psql = Stats.Median(samples["psql \\copy"]);
        var section = $"1 ingest {options.Rows / 1e6:0.##}M rows ({megabytes:F0} MB)";
        report.Add(section, "psql \\copy (baseline)", $"{Report.Ms(psql)} (spread {Stats.Spread(samples["psql \\copy"]):P0})");
        foreach (var name in new[] { "PUT upload", "POST ingest" })
        {
            var median = Stats.Median(samples[name]);
            report.Add(section, $"Processing {name}, submit→succeeded", $"{Report.Ms(median)} = {Report.Num(median / psql)}× psql (spread {Stats.Spread(samples[name]):P0})", "≤ 1.00× psql", median / psql <= 1.0);
            report.Add(section, $"Processing {name}: server-side job time / Processing CPU", $"{Report.Ms(Stats.Median(serverMs[name]))} / {Report.Ms(Stats.Median(cpu[name]))}");
        }

        foreach (var (name, list) in samples)
        {
            report.AddSamples($"ingest {name}", list);
        }

        var (peak, rss) = BenchEnvironment.Memory(processing.Pid);
        report.Add(section, "Processing peak RSS (VmHWM) after all rounds", $"{Report.Num(peak, "F0")} MB (RSS now {Report.Num(rss, "F0")} MB)");
        await CheckTypesAsync(env, report, cancellationToken);
    }

    /// <summary>
    /// The baseline with the advantages Processing takes: the table is created in the COPY's transaction, so the rows
    /// are written frozen (<c>FREEZE</c>), and the whole transaction is timed, as Processing's includes its CREATE TABLE.
    /// </summary>
    public static IReadOnlyList<string> CopyCommands(string path) =>
    [
        $"CREATE TABLE {PsqlTable} ({CsvGenerator.TableDefinition})",
        $"\\copy {PsqlTable} FROM '{path.Replace("'", "''", StringComparison.Ordinal)}' WITH (FORMAT csv, HEADER true, FREEZE true)",
    ];

    /// <summary>The comparison is only fair if ingest inferred the types the hand-made table has.</summary>
    private static async Task CheckTypesAsync(BenchEnvironment env, Report report, CancellationToken cancellationToken)
    {
        var inferred = await env.ScalarAsync<string>(
            "SELECT coalesce(string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position), '(no table)') FROM information_schema.columns WHERE table_schema = 'datasets' AND table_name = 'bench_post'",
            cancellationToken);
        var expected = await env.ScalarAsync<string>(
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'bench_psql'",
            cancellationToken);
        report.Note(inferred == expected
            ? $"Ingest inferred the same column types as the hand-made psql table: {inferred}."
            : $"Inferred types differ from the hand-made table — inferred: {inferred}; table: {expected}.");
    }
}
