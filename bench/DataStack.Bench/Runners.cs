using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using DataStack.Testing;

namespace DataStack.Bench;

/// <summary>
/// Real runner processes (<c>python -m datastack.runner</c>, the runner image's entrypoint) claiming from one Processing,
/// configured as the AppHost configures the runner container: the wiring contract (<c>PROCESSING_HTTP</c>,
/// <c>DATASTACK_API_KEY</c>), the image's <c>PYTHONUNBUFFERED=1</c>, a pipelines folder of their own (a copy of
/// <c>Jupyter/pipelines</c> plus <c>bench/pipelines_clock.py</c>), telemetry off as for Processing in this harness.
/// Each runner's console goes to a log file, as a container runtime collects it. Everything lives in one temp folder;
/// disposing kills every runner with its worker processes and removes the folder, also after a failure.
/// </summary>
public sealed class Runners : IAsyncDisposable
{
    /// <summary>The module <c>bench/pipelines_clock.py</c> becomes in the runners' pipelines package.</summary>
    public const string ClockModule = "bench_clock";

    private static readonly string[] s_wiringPrefixes = ["OTEL_", "DATASTACK_", "PROCESSING_", "ANALYTICS_", "services__", "ConnectionStrings__"];

    private readonly string _folder;
    private readonly List<(Process Process, string Log, int HealthPort)> _runners = [];

    private Runners(string folder) => _folder = folder;

    /// <summary>Starts <paramref name="count"/> runners and waits until each answers <c>/health</c> 200 with every slot ready.</summary>
    public static async Task<Runners> StartAsync(
        BenchEnvironment env, string python, ProcessingProcess processing, int count, int? slots, CancellationToken cancellationToken)
    {
        var runners = new Runners(Directory.CreateTempSubdirectory("datastack-bench-runners-").FullName);
        try
        {
            var pipelines = Path.Combine(runners._folder, "pipelines");
            CopyPipelines(Path.Combine(env.RepoRoot, "Jupyter", "pipelines"), pipelines);
            File.Copy(Path.Combine(env.RepoRoot, "bench", "pipelines_clock.py"), Path.Combine(pipelines, ClockModule + ".py"));
            for (var i = 0; i < count; i++)
            {
                runners.Start(env.RepoRoot, python, pipelines, processing, slots, i);
            }

            foreach (var runner in runners._runners)
            {
                await runners.WaitHealthyAsync(runner, cancellationToken);
            }

            return runners;
        }
        catch
        {
            await runners.DisposeAsync();
            throw;
        }
    }

    /// <summary>CPU time so far of every runner with its fork server and worker processes, in ms.</summary>
    public double CpuMs() => _runners.Sum(r => BenchEnvironment.TreeCpuMs(r.Process.Id));

    /// <summary>Throws, with the end of its log, if a runner has exited (a measurement must not go on without it).</summary>
    public void CheckAlive()
    {
        foreach (var (process, log, _) in _runners.Where(r => r.Process.HasExited))
        {
            throw new InvalidOperationException($"runner {process.Id} exited with code {process.ExitCode} ({LastLine(log)}); its log ends:\n{Tail(log)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _, _) in _runners)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true); // the main process, its fork server and the workers
            }

            await process.WaitForExitAsync();
            process.Dispose();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private void Start(string repoRoot, string python, string pipelines, ProcessingProcess processing, int? slots, int index)
    {
        var log = Path.Combine(_folder, $"runner-{index}.log");
        var port = FreePort.Next();
        // sh only to send the console to the log file; exec makes the runner itself the process started here.
        var startInfo = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = _folder };
        foreach (var argument in new[] { "-c", "exec \"$0\" -m datastack.runner >\"$1\" 2>&1", python, log })
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var inherited in startInfo.Environment.Keys.Where(IsWiringSetting).ToList())
        {
            startInfo.Environment.Remove(inherited);
        }

        startInfo.Environment["PYTHONPATH"] = Path.Combine(repoRoot, "Jupyter", "datastack", "src");
        startInfo.Environment["PYTHONUNBUFFERED"] = "1";
        startInfo.Environment["OTEL_SDK_DISABLED"] = "true";
        startInfo.Environment["PROCESSING_HTTP"] = processing.BaseAddress.ToString().TrimEnd('/');
        startInfo.Environment["DATASTACK_API_KEY"] = processing.ApiKey;
        startInfo.Environment["DATASTACK_RUNNER_PIPELINES"] = pipelines;
        startInfo.Environment["DATASTACK_RUNNER_HEALTH_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        if (slots is { } n)
        {
            startInfo.Environment["DATASTACK_RUNNER_SLOTS"] = n.ToString(CultureInfo.InvariantCulture);
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start /bin/sh for a runner.");
        _runners.Add((process, log, port));
    }

    private async Task WaitHealthyAsync((Process Process, string Log, int HealthPort) runner, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{runner.HealthPort}"), Timeout = TimeSpan.FromSeconds(5) };
        var last = "no answer";
        await Poll.UntilAsync(
            async () =>
            {
                if (runner.Process.HasExited)
                {
                    throw new InvalidOperationException(
                        $"A runner exited with code {runner.Process.ExitCode} before it was healthy ({LastLine(runner.Log)}); its log ends:\n{Tail(runner.Log)}");
                }

                try
                {
                    using var response = await client.GetAsync("/health", cancellationToken);
                    using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                    var root = body.RootElement;
                    last = $"{(int)response.StatusCode} {root}";
                    return response.StatusCode == HttpStatusCode.OK && root.GetProperty("ready").GetInt32() == root.GetProperty("slots").GetInt32();
                }
                catch (HttpRequestException)
                {
                    return false; // not listening yet
                }
            },
            healthy => healthy,
            TimeSpan.FromSeconds(90),
            $"runner {runner.Process.Id} healthy with every slot ready",
            () => $"last /health: {last}\n{Tail(runner.Log)}");
    }

    private static void CopyPipelines(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "__pycache__" or ".ipynb_checkpoints"))
            {
                continue;
            }

            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Settings a runner must not inherit from the harness's own environment: the wiring contract's, its own, telemetry's.</summary>
    private static bool IsWiringSetting(string key) =>
        s_wiringPrefixes.Any(prefix => key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    private static string Tail(string log) =>
        File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(30)) : "(no log)";

    /// <summary>The log's last line, usually what went wrong (the report keeps only a failure's first line).</summary>
    private static string LastLine(string log) =>
        File.Exists(log) ? File.ReadLines(log).LastOrDefault(l => l.Trim().Length > 0) ?? "its log is empty" : "no log";
}
