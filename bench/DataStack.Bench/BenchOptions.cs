namespace DataStack.Bench;

/// <summary>Command-line options of <c>bench/run.sh</c>. Quick mode shrinks every section for a smoke run.</summary>
public sealed record BenchOptions
{
    public int Rows { get; init; } = 1_000_000;

    public int Rounds { get; init; } = 5;

    public bool Quick { get; init; }

    /// <summary>Rows of the peak-memory run; 0 skips it (the default in quick mode).</summary>
    public int BigRows { get; init; } = 10_000_000;

    /// <summary>Rows of the DataFrame given to <c>upload()</c>.</summary>
    public int UploadRows { get; init; } = 1_000_000;

    /// <summary>Rows given to <c>to_sql</c>; its time is scaled linearly to <see cref="UploadRows"/>.</summary>
    public int ToSqlRows { get; init; } = 100_000;

    /// <summary>noop jobs per drain measurement.</summary>
    public int QueueJobs { get; init; } = 20_000;

    /// <summary>
    /// <c>Processing__WorkerConcurrency</c> of the two queue replicas; null (the default) leaves it unset, so
    /// the replicas run at the shipped settings, which is what the target is about.
    /// </summary>
    public int? QueueConcurrency { get; init; }

    /// <summary>
    /// A second pair of replicas, on a queue of its own, at this <c>WorkerConcurrency</c>: the drain at the
    /// defaults is compared with it round by round (target: the defaults within 0.8× of it). 0 skips it.
    /// </summary>
    public int QueueTunedConcurrency { get; init; } = 32;

    /// <summary><c>DATASTACK_RUNNER_SLOTS</c> of the python section's runners; null (the default) leaves it unset (one per CPU).</summary>
    public int? RunnerSlots { get; init; }

    /// <summary>Submission rate of the paced latency measurement.</summary>
    public int PacedRate { get; init; } = 200;

    /// <summary>Jobs of the paced latency measurement.</summary>
    public int PacedJobs { get; init; } = 2_000;

    public IReadOnlySet<string> Sections { get; init; } = new HashSet<string>(AllSections);

    public string Python { get; init; } = "/usr/bin/python3";

    /// <summary>Extra environment for every Processing replica (<c>--env Processing__WorkerConcurrency=8</c>), for experiments.</summary>
    public IReadOnlyDictionary<string, string> ProcessingEnvironment { get; init; } = new Dictionary<string, string>();

    public static readonly string[] AllSections = ["ingest", "pandas", "queue", "tracing", "memory", "python"];

    public const string Usage =
        """
        usage: bench/run.sh [--rows N] [--rounds N] [--quick] [--big-rows N | --no-big]
                            [--only ingest,pandas,queue,tracing,memory,python] [--queue-jobs N] [--queue-concurrency N] [--queue-tuned N]
                            [--runner-slots N] [--upload-rows N] [--to-sql-rows N] [--python PATH] [--env KEY=VALUE ...]
          --rows N         CSV rows of the ingest and tracing sections (default 1000000)
          --rounds N       rounds per section; contenders alternate inside each round (default 5)
          --quick          smoke run: 200k rows, 2 rounds, 5k queue jobs, 100k-row upload, no 10M run
          --big-rows N     rows of the peak-memory ingest (default 10000000); --no-big skips it
          --only LIST      run only these sections
          --queue-concurrency N   WorkerConcurrency of the queue replicas (default: unset, i.e. the shipped setting)
          --queue-tuned N  WorkerConcurrency of a second replica pair the defaults are compared with (default 32; 0 skips)
          --queue-jobs N   jobs per drain measurement of the queue and python sections (default 20000)
          --runner-slots N DATASTACK_RUNNER_SLOTS of the python section's two runners (default: unset, one per CPU)
          --env KEY=VALUE  extra environment for every Processing replica (repeatable; for experiments)
        """;

    public static BenchOptions Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        var options = quick
            ? new BenchOptions { Quick = true, Rows = 200_000, Rounds = 2, BigRows = 0, UploadRows = 100_000, ToSqlRows = 20_000, QueueJobs = 5_000, PacedJobs = 600 }
            : new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n{Usage}");
            int NextInt() => int.TryParse(Next().Replace("_", ""), out var n) && n >= 0 ? n : throw new ArgumentException($"{args[i - 1]} needs a non-negative integer.");
            options = args[i] switch
            {
                "--quick" => options,
                "--rows" => options with { Rows = NextInt() },
                "--rounds" => options with { Rounds = Math.Max(1, NextInt()) },
                "--big-rows" => options with { BigRows = NextInt() },
                "--no-big" => options with { BigRows = 0 },
                "--upload-rows" => options with { UploadRows = NextInt() },
                "--to-sql-rows" => options with { ToSqlRows = NextInt() },
                "--queue-jobs" => options with { QueueJobs = NextInt() },
                "--queue-concurrency" => options with { QueueConcurrency = Math.Max(1, NextInt()) },
                "--queue-tuned" => options with { QueueTunedConcurrency = NextInt() },
                "--runner-slots" => options with { RunnerSlots = Math.Max(1, NextInt()) },
                "--python" => options with { Python = Next() },
                "--env" => options with { ProcessingEnvironment = WithVariable(options.ProcessingEnvironment, Next()) },
                "--only" => options with { Sections = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet() },
                "-h" or "--help" => throw new ArgumentException(Usage),
                _ => throw new ArgumentException($"Unknown option {args[i]}.\n{Usage}"),
            };
        }

        var unknown = options.Sections.Except(AllSections).ToArray();
        return unknown.Length > 0 ? throw new ArgumentException($"Unknown section(s): {string.Join(", ", unknown)}.\n{Usage}") : options;
    }

    private static Dictionary<string, string> WithVariable(IReadOnlyDictionary<string, string> current, string assignment)
    {
        var equals = assignment.IndexOf('=', StringComparison.Ordinal);
        if (equals < 1)
        {
            throw new ArgumentException($"--env needs KEY=VALUE, got '{assignment}'.");
        }

        return new Dictionary<string, string>(current) { [assignment[..equals]] = assignment[(equals + 1)..] };
    }

    public bool Runs(string section) => Sections.Contains(section) && (section != "memory" || BigRows > 0);
}
