using DataStack.Bench;

// bench/run.sh → here. Starts one PostgreSQL server, runs the selected sections on it (contenders alternate
// round by round), prints each finding as it comes and writes the table to bench/results/<timestamp>.md.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
var cancellationToken = cancellation.Token;

var repoRoot = FindRepoRoot();
await using var env = await BenchEnvironment.StartAsync(repoRoot, options.ProcessingEnvironment, cancellationToken);
var report = new Report
{
    Environment = await env.DescribeAsync(cancellationToken) + $"\n- Command: `./bench/run.sh {string.Join(' ', args.Where((a, i) => a != "--python" && (i == 0 || args[i - 1] != "--python")))}` (rows {options.Rows:N0}, rounds {options.Rounds}, 10M run {(options.BigRows > 0 ? options.BigRows.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "off")})",
};
Console.WriteLine(report.Environment);

var failed = false;
(string Name, Func<Task> Run)[] sections =
[
    ("ingest", () => IngestBench.RunAsync(env, options, report, cancellationToken)),
    ("pandas", () => PandasBench.RunAsync(env, options, report, cancellationToken)),
    ("queue", () => QueueBench.RunAsync(env, options, report, cancellationToken)),
    ("tracing", () => TracingBench.RunAsync(env, options, report, cancellationToken)),
    ("memory", () => MemoryBench.RunAsync(env, options, report, cancellationToken)),
    ("python", () => PythonJobsBench.RunAsync(env, options, report, cancellationToken)),
];
foreach (var (name, run) in sections.Where(s => options.Runs(s.Name)))
{
    try
    {
        await run();
    }
    catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TimeoutException or IOException or Npgsql.NpgsqlException)
    {
        // One broken section must not hide the others' numbers.
        failed = true;
        report.Add(name, "section failed", ex.Message.Split('\n')[0].Replace("|", "\\|", StringComparison.Ordinal), "", false);
    }
}

var resultsDir = Path.Combine(repoRoot, "bench", "results");
Directory.CreateDirectory(resultsDir);
var path = Path.Combine(resultsDir, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
var markdown = report.ToMarkdown();
await File.WriteAllTextAsync(path, markdown, cancellationToken);
Console.WriteLine();
Console.WriteLine(markdown);
Console.WriteLine($"Written to {Path.GetRelativePath(repoRoot, path)}");
return failed ? 1 : 0;

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "DataStack.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("Run from inside the DataStack repository (DataStack.sln not found).");
}
