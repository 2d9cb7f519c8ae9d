using System.Globalization;

namespace DataStack.Bench;

/// <summary>
/// Section 5 (<c>--only python</c>): no-op python jobs (<c>pipelines.examples:noop</c>) run by two real runner processes
/// (<c>python -m datastack.runner</c>, warm: healthy, every slot ready, a warm-up batch run) claiming through one
/// Processing, against a baseline in the same run: the built-in <c>noop</c> kind on that Processing's own workers,
/// measured the same way, the two alternating round by round. One Processing, as the AppHost runs by default
/// (<c>Processing:Replicas</c> 1) with <c>Runner:Replicas</c> 2. Each measure is labelled for what it is:
/// <list type="bullet">
/// <item>drain rate — N jobs put in the queue by one batched INSERT (not through the API), from its commit to the last
/// job's <c>finished_at</c> (database clock);</item>
/// <item>submit→start — jobs submitted one by one through <c>POST /jobs</c> at a steady pace (no queue builds up). Three
/// moments, all against <c>created_at</c>: <c>started_at</c>, which Processing sets when a runner's claim takes the job
/// (what the API shows as startedAt); the moment the function was entered (every other job is
/// <c>pipelines.bench_clock:entered</c>, which returns <c>time.time()</c>: the same machine's clock); and
/// <c>finished_at</c>, when the runner's completion batch recorded the success.</item>
/// </list>
/// </summary>
public static class PythonJobsBench
{
    public const double TargetRate = 1_000;
    public const double TargetP50Ms = 20;
    private const int RunnerCount = 2;

    private static readonly BenchJob s_noop = BenchJob.Python("pipelines.examples:noop");
    private static readonly BenchJob s_clock = BenchJob.Python($"pipelines.{Runners.ClockModule}:entered");

    public static async Task RunAsync(BenchEnvironment env, BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var rounds = Math.Min(options.Rounds, 3);
        var slots = options.RunnerSlots is { } n ? $"{n} slots each (DATASTACK_RUNNER_SLOTS)" : $"{Environment.ProcessorCount} slots each (shipped: one per CPU)";
        var loadBefore = LoadAverage();
        Console.WriteLine($"== python: {options.QueueJobs:N0} no-op python jobs, {RunnerCount} runners at {slots}, 1 Processing, {rounds} rounds; load {loadBefore}");
        var queue = await env.CreateDatabaseAsync("python_jobs", cancellationToken);
        await using var processing = await env.StartProcessingAsync(queue, null, cancellationToken);
        using var client = processing.CreateClient();
        await using var runners = await Runners.StartAsync(env, options.Python, processing, RunnerCount, options.RunnerSlots, cancellationToken);

        var python = new Side("python", s_noop, [s_noop, s_clock], () => runners.CpuMs(), runners.CheckAlive);
        var builtIn = new Side("built-in noop", BenchJob.Noop, [BenchJob.Noop], () => 0, () => { });
        foreach (var side in (Side[])[python, builtIn])
        {
            // Warm-up: the workers import the pipelines, Processing's JIT and pools, PostgreSQL's caches.
            await QueueDriver.InsertDrainAsync(queue, side.Job, Math.Min(options.QueueJobs, 2_000), cancellationToken);
            await QueueDriver.CleanAsync(queue, cancellationToken);
            await QueueDriver.SubmitPacedAsync(client, side.Paced, options.PacedRate, 200, cancellationToken);
            await QueueDriver.SamplesAsync(queue, "0", "true", 200, cancellationToken);
            await QueueDriver.CleanAsync(queue, cancellationToken);
        }

        for (var round = 1; round <= rounds; round++)
        {
            // Who goes first alternates, so noise from the shared machine lands on both.
            foreach (var side in round % 2 == 1 ? (Side[])[python, builtIn] : [builtIn, python])
            {
                await MeasureAsync(env, queue, processing.Pid, client, side, options, $"round {round}/{rounds}", cancellationToken);
            }
        }

        var section = $"5 python jobs ({RunnerCount} runners × {options.RunnerSlots ?? Environment.ProcessorCount} slots, 1 Processing)";
        var rate = Stats.Median(python.Drain);
        var baseRate = Stats.Median(builtIn.Drain);
        report.Add(
            section,
            $"drain rate: {options.QueueJobs:N0} no-op python jobs inserted by one SQL INSERT (not through the API), commit → last finished",
            $"{rate:F0} jobs/s",
            $"≥ {TargetRate:N0}/s",
            rate >= TargetRate);
        report.Add(
            section,
            "baseline: the same drain of built-in noop jobs on Processing's own workers (same Processing, alternating)",
            $"{baseRate:F0} jobs/s → python {Report.Num(rate / baseRate)}× of it");
        report.Add(
            section,
            "drain: CPU per job, python (runners with their workers / Processing / PostgreSQL)",
            $"{Stats.Median(python.RunnerCpu):F0} / {Stats.Median(python.ProcessingCpu):F0} / {Stats.Median(python.PostgresCpu):F0} µs → ceiling on {Environment.ProcessorCount} idle cores ≈ {Ceiling(python):F0} jobs/s");
        report.Add(
            section,
            "drain: CPU per job, built-in noop (Processing / PostgreSQL)",
            $"{Stats.Median(builtIn.ProcessingCpu):F0} / {Stats.Median(builtIn.PostgresCpu):F0} µs → ceiling ≈ {Ceiling(builtIn):F0} jobs/s");

        var paced = $"paced {options.PacedRate}/s through POST /jobs";
        var claimed = Stats.Median(python.StartP50);
        var entered = Stats.Median(python.EnteredP50);
        report.Add(section, $"submit→start p50, {paced} (started_at − created_at: the runner's claim took it)", Report.Ms(claimed), $"≤ {TargetP50Ms} ms", claimed <= TargetP50Ms);
        report.Add(section, $"submit→function entered p50, {paced} (bench_clock:entered's time.time() − created_at)", Report.Ms(entered), $"≤ {TargetP50Ms} ms", entered <= TargetP50Ms);
        report.Add(
            section,
            "p99 of the same: start / function entered; p50 / p99 of submit→success recorded (finished_at − created_at)",
            $"{Report.Ms(Stats.Median(python.StartP99))} / {Report.Ms(Stats.Median(python.EnteredP99))}; {Report.Ms(Stats.Median(python.FinishedP50))} / {Report.Ms(Stats.Median(python.FinishedP99))}");
        report.Add(
            section,
            "baseline at the same pace, built-in noop: submit→start p50 / p99; submit→success recorded p50",
            $"{Report.Ms(Stats.Median(builtIn.StartP50))} / {Report.Ms(Stats.Median(builtIn.StartP99))}; {Report.Ms(Stats.Median(builtIn.FinishedP50))} → python's start p50 {Report.Num(claimed / Stats.Median(builtIn.StartP50), "F1")}× of it");
        report.Add(section, "POST /jobs round trip p50, paced: python / built-in noop", $"{Report.Ms(Stats.Median(python.RoundTrip))} / {Report.Ms(Stats.Median(builtIn.RoundTrip))}");
        report.Note(
            $"Python jobs: {RunnerCount} runner processes at {slots}, shipped settings otherwise (PYTHONUNBUFFERED=1, log level INFO, console to a file), " +
            $"telemetry off; {options.PacedJobs:N0} paced jobs per round, alternately pipelines.examples:noop and pipelines.bench_clock:entered; load average {loadBefore} at the start, {LoadAverage()} at the end.");
        report.Note($"Python rounds: drain {Join(python.Drain, "F0")} jobs/s (built-in {Join(builtIn.Drain, "F0")}); start p50 {Join(python.StartP50, "F1")} ms, function entered p50 {Join(python.EnteredP50, "F1")} ms (built-in start p50 {Join(builtIn.StartP50, "F1")} ms).");
    }

    private static async Task MeasureAsync(
        BenchEnvironment env, string queue, int processingPid, HttpClient client, Side side, BenchOptions options, string round, CancellationToken cancellationToken)
    {
        var before = (Runners: side.RunnersCpuMs(), Processing: BenchEnvironment.CpuMs(processingPid), Postgres: env.PostgresCpuMs());
        var drain = await QueueDriver.InsertDrainAsync(queue, side.Job, options.QueueJobs, cancellationToken);
        side.CheckAlive();
        side.Drain.Add(drain);
        side.RunnerCpu.Add((side.RunnersCpuMs() - before.Runners) * 1000 / options.QueueJobs);
        side.ProcessingCpu.Add((BenchEnvironment.CpuMs(processingPid) - before.Processing) * 1000 / options.QueueJobs);
        side.PostgresCpu.Add((env.PostgresCpuMs() - before.Postgres) * 1000 / options.QueueJobs);
        await QueueDriver.CleanAsync(queue, cancellationToken);

        var roundTrips = await QueueDriver.SubmitPacedAsync(client, side.Paced, options.PacedRate, options.PacedJobs, cancellationToken);
        side.RoundTrip.Add(Stats.Median(roundTrips));
        var count = (options.PacedJobs + side.Paced.Count - 1) / side.Paced.Count; // of the first (the no-op) of the cycle
        var start = await QueueDriver.SamplesAsync(queue, "extract(epoch FROM started_at - created_at) * 1000", side.Job.Matches, count, cancellationToken);
        var finished = await QueueDriver.SamplesAsync(queue, "extract(epoch FROM finished_at - created_at) * 1000", side.Job.Matches, count, cancellationToken);
        side.StartP50.Add(Stats.Percentile(start, 50));
        side.StartP99.Add(Stats.Percentile(start, 99));
        side.FinishedP50.Add(Stats.Percentile(finished, 50));
        side.FinishedP99.Add(Stats.Percentile(finished, 99));
        var line = $"    {round} {side.Name}: drain {drain:F0} jobs/s; paced start p50 {Report.Ms(side.StartP50[^1])}, p99 {Report.Ms(side.StartP99[^1])}";
        if (side.Paced.Count > 1)
        {
            var entered = await QueueDriver.SamplesAsync(
                queue, "(result #>> '{}')::float8 * 1000 - extract(epoch FROM created_at) * 1000", side.Paced[1].Matches, options.PacedJobs - count, cancellationToken);
            side.EnteredP50.Add(Stats.Percentile(entered, 50));
            side.EnteredP99.Add(Stats.Percentile(entered, 99));
            line += $"; function entered p50 {Report.Ms(side.EnteredP50[^1])}";
        }

        Console.WriteLine(line + $"; success recorded p50 {Report.Ms(side.FinishedP50[^1])}");
        side.CheckAlive();
        await QueueDriver.CleanAsync(queue, cancellationToken);
    }

    /// <summary>Jobs/s the machine's cores could run if this side had them to itself: cores / CPU per job.</summary>
    private static double Ceiling(Side side) =>
        Environment.ProcessorCount * 1e6 / (Stats.Median(side.RunnerCpu) + Stats.Median(side.ProcessingCpu) + Stats.Median(side.PostgresCpu));

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);

    private static string Join(IEnumerable<double> values, string format) =>
        string.Join(", ", values.Select(x => x.ToString(format, CultureInfo.InvariantCulture)));

    /// <summary>One contender: the job it drains, the jobs it submits at a pace (cycled), and its samples per round.</summary>
    private sealed record Side(string Name, BenchJob Job, IReadOnlyList<BenchJob> Paced, Func<double> RunnersCpuMs, Action CheckAlive)
    {
        public List<double> Drain { get; } = [];
        public List<double> RunnerCpu { get; } = [];
        public List<double> ProcessingCpu { get; } = [];
        public List<double> PostgresCpu { get; } = [];
        public List<double> RoundTrip { get; } = [];
        public List<double> StartP50 { get; } = [];
        public List<double> StartP99 { get; } = [];
        public List<double> EnteredP50 { get; } = [];
        public List<double> EnteredP99 { get; } = [];
        public List<double> FinishedP50 { get; } = [];
        public List<double> FinishedP99 { get; } = [];
    }
}
