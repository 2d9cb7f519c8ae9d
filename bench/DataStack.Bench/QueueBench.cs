using System.Diagnostics;
using Npgsql;

namespace DataStack.Bench;

/// <summary>
/// Section 3: the job queue with two Processing replicas (two real processes) running <c>noop</c> jobs.
/// Three measures, each labelled for what it is:
/// <list type="bullet">
/// <item>drain rate — N jobs put in the queue by one batched INSERT, then timed from its commit to the last
/// job's finish (database clock): what the replicas can run, free of HTTP submission cost;</item>
/// <item>rate through <c>POST /jobs</c>, what clients get — N jobs submitted by concurrent clients through the API,
/// first submit to last finish (submission and running overlap and share the two cores), against the same target;</item>
/// <item>submit→start latency — jobs submitted one by one at a steady rate (so no queue builds up), from
/// <c>created_at</c> to <c>started_at</c> in the jobs table.</item>
/// </list>
/// </summary>
public static class QueueBench
{
    public const double TargetRate = 5_000;
    public const double TargetP50Ms = 5;
    public const double TargetP99Ms = 50;
    public const double TargetOfTuned = 0.8;
    private const int HttpClients = 16;

    public static async Task RunAsync(BenchEnvironment env, BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var rounds = Math.Min(options.Rounds, 3);
        var setting = options.QueueConcurrency is { } c ? $"WorkerConcurrency {c}" : "the shipped settings";
        Console.WriteLine($"== queue: {options.QueueJobs:N0} noop jobs, 2 replicas at {setting}, {rounds} rounds");
        var slots = options.QueueConcurrency is { } n
            ? new Dictionary<string, string> { ["Processing__WorkerConcurrency"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : null;
        // Both pairs get a fresh database of their own, so they differ only in the setting. (On the shared
        // analytics database, after the ingest and pandas sections, the defaults' queue competed with autovacuum
        // of those sections' tables and read statistics taken from their jobs; the fresh pair did neither.)
        var queue = await env.CreateDatabaseAsync("queue_defaults", cancellationToken);
        await using var a = await env.StartProcessingAsync(queue, slots, cancellationToken);
        await using var b = await env.StartProcessingAsync(queue, slots, cancellationToken);
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        HttpClient[] clients = [clientA, clientB];

        // The comparison pair: the same, tuned, on a queue (database) of its own so neither pair runs the other's jobs.
        var tuned = options.QueueTunedConcurrency > 0 ? await TunedPair.StartAsync(env, options.QueueTunedConcurrency, cancellationToken) : null;
        await using var tunedDisposer = tuned;

        // Warm-up: JIT (tiered compilation takes a while on a busy machine) and pools on both replicas.
        await HttpBurstAsync(queue, clients, 2_000, cancellationToken);
        await CleanAsync(queue, cancellationToken);
        await InsertDrainAsync(queue, options.QueueJobs, cancellationToken);
        await CleanAsync(queue, cancellationToken);
        if (tuned is not null)
        {
            await InsertDrainAsync(tuned.ConnectionString, options.QueueJobs, cancellationToken);
            await CleanAsync(tuned.ConnectionString, cancellationToken);
        }

        var drain = new List<double>();
        var tunedDrain = new List<double>();
        var http = new List<double>();
        var submit = new List<double>();
        var p50 = new List<double>();
        var p99 = new List<double>();
        var clientMs = new List<double>();
        var processingCpu = new List<double>();
        var postgresCpu = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            // Who drains first alternates, so noise from the shared machine lands on both pairs.
            if (tuned is not null && round % 2 == 0)
            {
                tunedDrain.Add(await TunedDrainAsync(tuned, options.QueueJobs, round, rounds, cancellationToken));
            }

            var cpuBefore = (Processing: BenchEnvironment.CpuMs(a.Pid) + BenchEnvironment.CpuMs(b.Pid), Postgres: env.PostgresCpuMs());
            var d = await InsertDrainAsync(queue, options.QueueJobs, cancellationToken);
            drain.Add(d);
            processingCpu.Add((BenchEnvironment.CpuMs(a.Pid) + BenchEnvironment.CpuMs(b.Pid) - cpuBefore.Processing) * 1000 / options.QueueJobs);
            postgresCpu.Add((env.PostgresCpuMs() - cpuBefore.Postgres) * 1000 / options.QueueJobs);
            Console.WriteLine($"    round {round}/{rounds} drain (batched INSERT): {d:F0} jobs/s; CPU per job: Processing {processingCpu[^1]:F0} µs, PostgreSQL {postgresCpu[^1]:F0} µs");
            await CleanAsync(queue, cancellationToken);
            if (tuned is not null && round % 2 == 1)
            {
                tunedDrain.Add(await TunedDrainAsync(tuned, options.QueueJobs, round, rounds, cancellationToken));
            }

            var (e2e, submitRate) = await HttpBurstAsync(queue, clients, options.QueueJobs, cancellationToken);
            http.Add(e2e);
            submit.Add(submitRate);
            Console.WriteLine($"    round {round}/{rounds} HTTP: submitted {submitRate:F0}/s, end to end {e2e:F0} jobs/s");
            await CleanAsync(queue, cancellationToken);

            var (lp50, lp99, lclient) = await PacedLatencyAsync(queue, clientA, options.PacedRate, options.PacedJobs, cancellationToken);
            p50.Add(lp50);
            p99.Add(lp99);
            clientMs.Add(lclient);
            Console.WriteLine($"    round {round}/{rounds} paced {options.PacedRate}/s: submit→start p50 {lp50:F1} ms, p99 {lp99:F1} ms");
            await CleanAsync(queue, cancellationToken);
        }

        var section = $"3 queue (noop, 2 replicas at {setting})";
        var drainMedian = Stats.Median(drain);
        report.Add(section, $"drain rate: {options.QueueJobs:N0} jobs inserted by one SQL INSERT (not through the API), commit → last finished", $"{drainMedian:F0} jobs/s", $"≥ {TargetRate:N0}/s", drainMedian >= TargetRate);
        if (tuned is not null)
        {
            var tunedMedian = Stats.Median(tunedDrain);
            report.Add(
                section,
                $"drain of 2 replicas at WorkerConcurrency {options.QueueTunedConcurrency} (own queue, alternating with the above)",
                $"{tunedMedian:F0} jobs/s → {setting} reach {Report.Num(drainMedian / tunedMedian)}× of it",
                $"≥ {TargetOfTuned}×",
                drainMedian / tunedMedian >= TargetOfTuned);
        }

        var cpuPerJob = Stats.Median(processingCpu) + Stats.Median(postgresCpu);
        report.Add(section, "drain: CPU per job (both replicas / PostgreSQL, PostgreSQL's includes the INSERT)", $"{Stats.Median(processingCpu):F0} µs / {Stats.Median(postgresCpu):F0} µs → ceiling on {Environment.ProcessorCount} idle cores ≈ {Environment.ProcessorCount * 1e6 / cpuPerJob:F0} jobs/s");
        // What a client gets: every job through the API (authentication, validation, the INSERT and its NOTIFY, the
        // 202), from concurrent clients over both replicas, while the same replicas run what was submitted.
        var httpMedian = Stats.Median(http);
        report.Add(
            section,
            $"rate through POST /jobs (what clients get): {options.QueueJobs:N0} jobs from {HttpClients} clients over both replicas, first submit → last finished",
            $"{httpMedian:F0} jobs/s (submission alone {Stats.Median(submit):F0}/s)",
            $"≥ {TargetRate:N0}/s",
            httpMedian >= TargetRate);
        var p50Median = Stats.Median(p50);
        var p99Median = Stats.Median(p99);
        report.Add(section, $"submit→start p50, paced {options.PacedRate}/s × {options.PacedJobs:N0} (started_at − created_at)", Report.Ms(p50Median), $"≤ {TargetP50Ms} ms", p50Median <= TargetP50Ms);
        report.Add(section, $"submit→start p99, paced {options.PacedRate}/s", Report.Ms(p99Median), $"≤ {TargetP99Ms} ms", p99Median <= TargetP99Ms);
        report.Add(section, "POST /jobs client round trip p50, paced", Report.Ms(Stats.Median(clientMs)));
        report.Note($"Queue replicas ran at {setting}{(options.QueueConcurrency is null ? " (Processing__WorkerConcurrency unset)" : "")}{(tuned is null ? "; no comparison pair" : $"; the comparison pair at WorkerConcurrency {options.QueueTunedConcurrency}")}.");
        report.Note($"Queue rounds: drain {Join(drain, "F0")} jobs/s; tuned drain {Join(tunedDrain, "F0")} jobs/s; HTTP end to end {Join(http, "F0")} jobs/s; p50 {Join(p50, "F1")} ms.");
    }

    private static string Join(IEnumerable<double> values, string format) =>
        string.Join(", ", values.Select(x => x.ToString(format, System.Globalization.CultureInfo.InvariantCulture)));

    private static async Task<double> TunedDrainAsync(TunedPair tuned, int count, int round, int rounds, CancellationToken cancellationToken)
    {
        var rate = await InsertDrainAsync(tuned.ConnectionString, count, cancellationToken);
        Console.WriteLine($"    round {round}/{rounds} drain at WorkerConcurrency {tuned.Concurrency}: {rate:F0} jobs/s");
        await CleanAsync(tuned.ConnectionString, cancellationToken);
        return rate;
    }

    /// <summary>Submits <paramref name="count"/> jobs over HTTP from concurrent clients spread over both replicas.</summary>
    private static async Task<(double EndToEndRate, double SubmitRate)> HttpBurstAsync(
        string queue, HttpClient[] clients, int count, CancellationToken cancellationToken)
    {
        await CleanAsync(queue, cancellationToken);
        var next = 0;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, HttpClients).Select(worker => Task.Run(
            async () =>
            {
                while (Interlocked.Increment(ref next) <= count)
                {
                    await ProcessingApi.SubmitAsync(clients[worker % clients.Length], BenchJob.Noop, cancellationToken);
                }
            },
            cancellationToken)));
        var submitSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await using var connection = new NpgsqlConnection(queue);
        await connection.OpenAsync(cancellationToken);
        await QueueDriver.WaitForIdleAsync(connection, cancellationToken);
        await using var span = new NpgsqlCommand(
            "SELECT min(created_at), max(finished_at), count(*) FILTER (WHERE status = 'succeeded') FROM datastack.jobs WHERE kind = 'noop'", connection);
        await using var reader = await span.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        QueueDriver.Check(reader.GetInt64(2), count, "noop");
        return (count / (reader.GetDateTime(1) - reader.GetDateTime(0)).TotalSeconds, count / submitSeconds);
    }

    /// <summary>One client submitting at a steady rate; percentiles of started_at − created_at from the table.</summary>
    private static async Task<(double P50, double P99, double ClientP50)> PacedLatencyAsync(
        string queue, HttpClient client, int rate, int count, CancellationToken cancellationToken)
    {
        await CleanAsync(queue, cancellationToken);
        var roundTrips = await QueueDriver.SubmitPacedAsync(client, [BenchJob.Noop], rate, count, cancellationToken);
        var samples = await QueueDriver.SamplesAsync(
            queue, "extract(epoch FROM started_at - created_at) * 1000", "kind = 'noop'", count, cancellationToken);
        return (Stats.Percentile(samples, 50), Stats.Percentile(samples, 99), Stats.Median(roundTrips));
    }

    private static Task CleanAsync(string connectionString, CancellationToken cancellationToken) =>
        QueueDriver.CleanAsync(connectionString, cancellationToken);

    private static Task<double> InsertDrainAsync(string connectionString, int count, CancellationToken cancellationToken) =>
        QueueDriver.InsertDrainAsync(connectionString, BenchJob.Noop, count, cancellationToken);
}
