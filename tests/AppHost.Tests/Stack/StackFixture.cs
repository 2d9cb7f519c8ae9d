using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The whole stack, started once from the real AppHost with its dashboard: postgres and jupyter as containers
/// (images from the <c>Images:*</c>/<c>Jupyter:*</c>/<c>Runner:*</c> settings, e.g. the local stand-ins on CI), two Processing
/// replicas as processes and two runner containers (<see cref="DefaultStackFixture"/>: one of each, the shipped default).
/// Secrets are fresh per run so that the tests can look for them in every output.
/// </summary>
public class StackFixture : IAsyncLifetime
{
    private readonly int? _replicas;

    public StackFixture()
        : this(replicas: 2)
    {
    }

    /// <param name="replicas">Processing replicas and runner copies; null leaves <c>Processing:Replicas</c> and <c>Runner:Replicas</c> as <c>AppHost/appsettings.json</c> ships them.</param>
    protected StackFixture(int? replicas) => _replicas = replicas;

    /// <summary>The resources of the wiring contract that must reach healthy.</summary>
    public static IReadOnlyList<string> ContractResources { get; } = ["postgres", "analytics", "processing", "runner", "jupyter"];

    /// <summary>The runner containers: <c>runner</c>, and <c>runner-2</c>… for the copies.</summary>
    public IReadOnlyList<string> RunnerResources =>
        [.. App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Select(r => r.Name).Where(name => name == "runner" || name.StartsWith("runner-", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    // A cold Jupyter image build dominates; on a warm machine the stack is healthy in well under a minute.
    private static TimeSpan StartupTimeout { get; } = TimeSpan.FromMinutes(15);

    private IDistributedApplicationTestingBuilder? _builder;
    private DistributedApplication? _app;
    private string? _startupProblem;
    private readonly ConcurrentDictionary<string, string> _resourceIds = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _watch = Task.CompletedTask;

    public string ApiKey { get; } = NewSecret();

    public string PostgresPassword { get; } = NewSecret();

    public string JupyterToken { get; } = NewSecret();

    public string DashboardApiKey { get; } = NewSecret();

    /// <summary>A password a notebook cell holds (NotebookTraceTests): it must reach the dashboard masked.</summary>
    public string NotebookPassword { get; } = NewSecret();

    /// <summary>A data volume of this run only, removed at the end (a developer's own volume is never touched).</summary>
    public string VolumeName { get; } = $"datastack-test-{Guid.NewGuid():N}";

    public IReadOnlyList<string> Secrets => [ApiKey, PostgresPassword, JupyterToken, DashboardApiKey, NotebookPassword];

    /// <summary>How many Processing replicas the AppHost was told to run.</summary>
    public int ProcessingReplicas => App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ProjectResource>().Single(r => r.Name == "processing").GetReplicaCount();

    /// <summary>From <c>StartAsync</c> to every contract resource healthy.</summary>
    public TimeSpan TimeToHealthy { get; private set; }

    public DistributedApplication App =>
        _app ?? throw new InvalidOperationException(_startupProblem ?? ContainerRuntime.Unavailability ?? "The stack was not started.");

    public async Task InitializeAsync()
    {
        if (ContainerRuntime.FixtureProblem is { } problem)
        {
            _startupProblem = problem;
            return;
        }

        using var cts = new CancellationTokenSource(StartupTimeout);
        _builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = true },
            [
                $"--Parameters:processing-api-key={ApiKey}",
                $"--Parameters:postgres-password={PostgresPassword}",
                $"--Parameters:jupyter-token={JupyterToken}",
                $"--AppHost:DashboardApiKey={DashboardApiKey}",
                .. _replicas is { } replicas ? [$"--Processing:Replicas={replicas}", $"--Runner:Replicas={replicas}"] : Array.Empty<string>(),
                // Containers of this run only, whatever a developer's appsettings.json keeps running between runs.
                "--Postgres:Lifetime=Session",
            ],
            cts.Token);
        UseOwnDataVolume(_builder);
        // The dashboard's OTLP endpoint over https with the developer certificate, as `dotnet run --project AppHost`
        // serves it (the testing builder would make it plain http): the notebook's spans then reach the dashboard only
        // where the certificate is trusted as the README says, which is what NotebookTraceTests shows.
        _builder.Configuration["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = "https://localhost:0";

        _app = await _builder.BuildAsync(cts.Token);
        _watch = WatchResourceIdsAsync(_app, _stopping.Token);
        var clock = Stopwatch.StartNew();
        try
        {
            await _app.StartAsync(cts.Token);
            await Task.WhenAll(ContractResources.Union(RunnerResources).Select(name => _app.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token)));
            TimeToHealthy = clock.Elapsed;
        }
        catch (Exception ex) when (ex is OperationCanceledException or DistributedApplicationException)
        {
            _startupProblem = $"The stack did not become healthy within {StartupTimeout} ({ex.Message}). The resources' last log lines:\n{await DescribeResourcesAsync()}";
            throw new InvalidOperationException(_startupProblem, ex);
        }
    }

    public async Task DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _watch;
        _stopping.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_builder is not null)
        {
            await _builder.DisposeAsync();
            await CommandLine.TryRunAsync(ContainerRuntime.Executable, ["volume", "rm", "--force", VolumeName], TimeSpan.FromMinutes(1), CancellationToken.None);
        }
    }

    /// <summary>The connection string of <c>analytics</c>, for checks made from the host straight in PostgreSQL.</summary>
    public async Task<string> GetAnalyticsAsync(CancellationToken cancellationToken) =>
        await App.GetConnectionStringAsync("analytics", cancellationToken) ?? throw new InvalidOperationException("analytics has no connection string.");

    /// <summary>The ids of the running instances of <paramref name="resourceName"/> (one per replica).</summary>
    public IReadOnlyList<string> GetResourceIds(string resourceName) =>
        [.. _resourceIds.Where(pair => pair.Value == resourceName).Select(pair => pair.Key).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Brings back an instance of <paramref name="resourceName"/> that a test killed or stopped, as a person would: waits
    /// until the dashboard shows it ended, runs its Start command and waits until that instance is healthy again.
    /// Returns the command's result for the test to assert on.
    /// </summary>
    public async Task<ExecuteCommandResult> StartAgainAsync(string resourceName, CancellationToken cancellationToken)
    {
        var dead = await App.ResourceNotifications.WaitForResourceAsync(
            resourceName, e => e.Snapshot.State?.Text is "Exited" or "Finished", cancellationToken);
        var start = await App.ResourceCommands.ExecuteCommandAsync(dead.ResourceId, KnownResourceCommands.StartCommand, cancellationToken);
        if (start.Success)
        {
            await App.ResourceNotifications.WaitForResourceAsync(
                resourceName, e => e.ResourceId == dead.ResourceId && e.Snapshot.HealthStatus == HealthStatus.Healthy, cancellationToken);
        }

        return start;
    }

    /// <summary>The id of the container DCP runs for <paramref name="resourceName"/> (a container resource).</summary>
    public Task<string> GetContainerIdAsync(string resourceName, CancellationToken cancellationToken) =>
        GetPropertyAsync(resourceName, "container.id", cancellationToken);

    /// <summary>Runs a Python program inside the jupyter container, with the environment Aspire gave the container.</summary>
    public async Task<string> RunPythonInJupyterAsync(string program, CancellationToken cancellationToken)
    {
        var container = await GetContainerIdAsync("jupyter", cancellationToken);
        return await CommandLine.RunAsync(ContainerRuntime.Executable, ["exec", "-i", container, "python", "-"], TimeSpan.FromMinutes(5), cancellationToken, input: program);
    }

    /// <summary>
    /// Runs a notebook (nbformat JSON) in the jupyter container as JupyterLab runs one: nbclient starts the container's
    /// <c>python3</c> kernelspec as the notebook user, with the environment Aspire gave the container. Returns the
    /// executed notebook; a failing cell does not stop it (its error is in its outputs).
    /// </summary>
    public async Task<string> RunNotebookInJupyterAsync(string notebook, CancellationToken cancellationToken)
    {
        var container = await GetContainerIdAsync("jupyter", cancellationToken);
        var path = $"/tmp/datastack-test-{Guid.NewGuid():N}.ipynb";
        const string Execute = """
            import sys, nbclient, nbformat
            notebook = nbformat.read(sys.argv[1], as_version=4)
            nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120, allow_errors=True).execute()
            nbformat.write(notebook, sys.argv[1])
            """;
        await CommandLine.RunAsync(ContainerRuntime.Executable, ["exec", "-i", "-u", "jovyan", container, "sh", "-c", $"cat > {path}"], TimeSpan.FromMinutes(1), cancellationToken, input: notebook);
        await CommandLine.RunAsync(ContainerRuntime.Executable, ["exec", "-u", "jovyan", "-w", "/home/jovyan/work", container, "python", "-c", Execute, path], TimeSpan.FromMinutes(4), cancellationToken);
        return await CommandLine.RunAsync(ContainerRuntime.Executable, ["exec", container, "sh", "-c", $"cat {path} && rm {path}"], TimeSpan.FromMinutes(1), cancellationToken);
    }

    /// <summary>Every console log line the stack's resources have written so far.</summary>
    public async Task<Dictionary<string, List<string>>> GetConsoleLogsAsync(CancellationToken cancellationToken)
    {
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        var lines = new Dictionary<string, List<string>>();
        foreach (var (resourceId, resourceName) in _resourceIds)
        {
            var resourceLines = lines.TryGetValue(resourceName, out var existing) ? existing : lines[resourceName] = [];
            await foreach (var batch in logs.GetAllAsync(resourceId).WithCancellation(cancellationToken))
            {
                resourceLines.AddRange(batch.Select(line => line.Content));
            }
        }

        return lines;
    }

    private async Task<string> GetPropertyAsync(string resourceName, string property, CancellationToken cancellationToken)
    {
        var resourceEvent = await App.ResourceNotifications.WaitForResourceAsync(
            resourceName,
            e => e.Snapshot.Properties.Any(p => p.Name == property && p.Value is not null),
            cancellationToken);
        return resourceEvent.Snapshot.Properties.First(p => p.Name == property).Value!.ToString()!;
    }

    /// <summary>
    /// Records the id of every resource instance (replicas have their own), which the resource log service is keyed by.
    /// </summary>
    private async Task WatchResourceIdsAsync(DistributedApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var resourceEvent in app.ResourceNotifications.WatchAsync(cancellationToken))
            {
                _resourceIds.TryAdd(resourceEvent.ResourceId, resourceEvent.Resource.Name);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The fixture is being disposed.
        }
    }

    private void UseOwnDataVolume(IDistributedApplicationTestingBuilder builder)
    {
        var postgres = builder.Resources.OfType<PostgresServerResource>().Single();
        var volume = postgres.Annotations.OfType<ContainerMountAnnotation>().Single(mount => mount.Type == ContainerMountType.Volume);
        postgres.Annotations.Remove(volume);
        builder.CreateResourceBuilder(postgres).WithVolume(VolumeName, volume.Target);
    }

    private async Task<string> DescribeResourcesAsync()
    {
        if (_app is null)
        {
            return "(no application)";
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var text = new StringBuilder();
        try
        {
            foreach (var (name, lines) in await GetConsoleLogsAsync(cts.Token))
            {
                text.AppendLine($"--- {name}");
                foreach (var line in lines.TakeLast(15))
                {
                    text.AppendLine(line);
                }
            }
        }
        catch (OperationCanceledException)
        {
            text.AppendLine("(reading the logs timed out)");
        }

        return text.ToString();
    }

    private static string NewSecret() => Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
}
