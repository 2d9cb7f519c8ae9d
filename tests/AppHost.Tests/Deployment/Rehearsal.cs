using System.Net;
using System.Net.Http.Headers;
using DataStack.Testing;
using Npgsql;

namespace DataStack.AppHost.Tests.Deployment;

/// <summary>
/// The published manifest deployed the way a cloud target deploys it, under Docker. The manifest comes from the README's
/// publish command; a deployment tool then runs exactly what it declares, resolved (<see cref="AspireManifest"/>):
/// <list type="bullet">
/// <item>each <c>container.v0</c> (postgres: its image setting applied, its declared volume, nothing else changed);</item>
/// <item>each <c>container.v1</c> built from a Dockerfile (the runner): its image built as declared (context, Dockerfile,
/// stage, build arguments), run as <see cref="Replicas"/> copies with nothing mounted;</item>
/// <item>each <c>project.v0</c> (processing) as <see cref="Replicas"/> containers of its deploy image, each with a file
/// system of its own: no volume, no folder mounted, no file copied in;</item>
/// <item>in front of those replicas one load balancer that spreads requests (the platform's ingress), under the name
/// other resources reach the project by.</item>
/// </list>
/// Nothing is made by hand: no database created, no folder mounted. A resource type the rehearsal does not know stops
/// it, so it can never run less than the manifest declares.
/// </summary>
public sealed class Rehearsal : IAsyncLifetime
{
    /// <summary>Processing replicas, and copies of each built container (the deployment's scale setting; the manifest does not carry one).</summary>
    public const int Replicas = 2;

    public const string ProcessingImageVariable = "DATASTACK_PROCESSING_IMAGE";
    public const string LoadBalancerImage = "datastack-standin/loadbalancer:bookworm";

    private const string Processing = "processing";
    private const string Postgres = "postgres";
    private const string Runner = "runner";

    private static TimeSpan StartTimeout { get; } = TimeSpan.FromMinutes(4);

    private static readonly HashSet<string> s_knownTypes = ["parameter.v0", "value.v0", "annotated.string", "container.v0", "container.v1", "project.v0"];

    private DockerSandbox? _sandbox;
    private string? _problem;

    public static string ProcessingImage => Environment.GetEnvironmentVariable(ProcessingImageVariable) ?? "datastack-processing:dev";

    /// <summary>How to get <see cref="ProcessingImage"/> onto this machine, for the tests that need it.</summary>
    public static string HowToBuildProcessingImage =>
        "build it with tests/images/build-processing-image.sh (offline, on a local stand-in base), or where mcr.microsoft.com is reachable with "
        + $"`dotnet publish Processing -t:PublishContainer -p:ContainerImageTags=dev`; or point {ProcessingImageVariable} at another image";

    internal AspireManifest Manifest { get; private set; } = null!;

    /// <summary>The manifest as published, to search for secrets.</summary>
    public string ManifestText { get; private set; } = "";

    internal DockerSandbox Sandbox => _sandbox ?? throw new InvalidOperationException(_problem ?? "The rehearsal did not start.");

    /// <summary>The replicas' names on the deployment's network (and their containers' aliases).</summary>
    public IReadOnlyList<string> ReplicaNames { get; } = Copies(Processing);

    /// <summary>The runner's copies: containers of the image built from the manifest's <c>runner</c> resource.</summary>
    public IReadOnlyList<string> RunnerNames { get; } = Copies(Runner);

    /// <summary>The image built from the manifest's <c>runner</c> resource.</summary>
    public string RunnerImage { get; private set; } = "";

    /// <summary>The load balancer's address on this machine: what a user's client reaches.</summary>
    public Uri Address { get; private set; } = null!;

    public string ApiKey => Manifest.Environment(Processing)["Processing__ApiKey"];

    /// <summary>The analytics database as the deployment's connection string names it, reached from this machine (for checks only).</summary>
    public string AnalyticsConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (ContainerRuntime.FixtureProblem is { } problem)
        {
            _problem = problem;
            return;
        }

        using var cts = new CancellationTokenSource(StartTimeout);
        _problem = await MissingImagesAsync(cts.Token);
        if (_problem is not null)
        {
            return;
        }

        (ManifestText, Manifest) = await PublishAsync(cts.Token);
        var postgresImage = Manifest.Resource(Postgres).GetProperty("image").GetString()!;
        if (!await DockerSandbox.ImageExistsAsync(postgresImage, cts.Token))
        {
            _problem = $"The manifest's postgres image '{postgresImage}' (the AppHost's Images:Postgres setting) is not in the local image store: "
                + "build the stand-ins with tests/images/build-standins.sh and set Images__Postgres=datastack-standin/postgres:15 (as .ci/run does), or pull the image.";
            return;
        }

        var unknown = Manifest.ResourceNames.Where(name => !s_knownTypes.Contains(Manifest.TypeOf(name))).ToList();
        if (unknown.Count > 0)
        {
            _problem = $"The manifest declares resources the rehearsal cannot deploy: {string.Join(", ", unknown.Select(n => $"{n} ({Manifest.TypeOf(n)})"))}.";
            return;
        }

        _sandbox = await DockerSandbox.CreateAsync(cts.Token);
        var containers = Manifest.ResourceNames.Where(name => Manifest.TypeOf(name) is "container.v0" or "container.v1").ToList();
        foreach (var container in containers.Where(name => Manifest.Build(name) is null))
        {
            await StartContainerAsync(container, Manifest.Resource(container).GetProperty("image").GetString()!, [container], cts.Token);
        }

        foreach (var replica in ReplicaNames)
        {
            await Sandbox.StartAsync(replica, ProcessingImage, AspireManifest.ProjectHttpPort, Manifest.Environment(Processing), [], cts.Token);
        }

        // The platform's ingress: the name the other resources resolve for processing ({processing.bindings.http.url}).
        var port = await Sandbox.StartAsync(
            Processing,
            LoadBalancerImage,
            AspireManifest.ProjectHttpPort,
            new Dictionary<string, string> { ["BACKENDS"] = string.Join(' ', ReplicaNames.Select(r => $"{r}:{AspireManifest.ProjectHttpPort}")) },
            [],
            cts.Token);
        Address = new Uri($"http://127.0.0.1:{port}");
        var analytics = new NpgsqlConnectionStringBuilder(Manifest.Resolve("{analytics.connectionString}"))
        {
            Host = "127.0.0.1",
            Port = await Sandbox.HostPortAsync(Postgres, 5432, cts.Token),
        };
        AnalyticsConnectionString = analytics.ConnectionString;
        await WaitUntilServedByAsync(ReplicaNames, cts.Token);

        // Built images last: they may take a while, and what they run reaches processing by name.
        foreach (var container in containers.Where(name => Manifest.Build(name) is not null))
        {
            if (container != Runner)
            {
                throw new InvalidOperationException($"'{container}' is built from a Dockerfile; the rehearsal knows how many copies of the runner to run, not of '{container}'.");
            }

            var build = Manifest.Build(container)!;
            RunnerImage = await Sandbox.BuildAsync(container, build.Context, build.Dockerfile, build.Stage, build.Arguments, cts.Token);
            await StartContainerAsync(container, RunnerImage, RunnerNames, cts.Token);
        }

        await WaitUntilHealthyAsync(RunnerNames, cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_sandbox is not null)
        {
            await _sandbox.DisposeAsync();
        }
    }

    /// <summary>Fails the test with why the rehearsal could not start (a missing image, no container runtime).</summary>
    public void Require()
    {
        if (_problem is not null || _sandbox is null)
        {
            Assert.Fail(_problem ?? "The rehearsal did not start.");
        }
    }

    /// <summary>A client of the deployment as a user has it: the load balancer's address and the API key.</summary>
    public HttpClient CreateClient()
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return client;
    }

    /// <summary>Kills a replica with SIGKILL, as a crashed machine or an evicted replica ends.</summary>
    public Task KillReplicaAsync(string replica, CancellationToken cancellationToken) => Sandbox.KillAsync(replica, cancellationToken);

    /// <summary>Starts a killed replica again (its own file system as it was) and waits until the load balancer sends it requests.</summary>
    public async Task StartReplicaAgainAsync(string replica, CancellationToken cancellationToken)
    {
        await Sandbox.StartAgainAsync(replica, cancellationToken);
        await WaitUntilServedByAsync([replica], cancellationToken);
    }

    /// <summary>Restarts the postgres container (SIGTERM: a fast shutdown), as a platform's restart or an update does.</summary>
    public async Task RestartPostgresAsync(CancellationToken cancellationToken)
    {
        await Sandbox.RestartAsync(Postgres, cancellationToken);
        // Docker publishes the restarted container on a new host port; the deployment itself reaches it by name.
        AnalyticsConnectionString = new NpgsqlConnectionStringBuilder(AnalyticsConnectionString)
        {
            Port = await Sandbox.HostPortAsync(Postgres, 5432, cancellationToken),
        }.ConnectionString;
    }

    /// <summary>The last lines of every container's output, for failure messages.</summary>
    public async Task<string> DescribeAsync(CancellationToken cancellationToken)
    {
        var parts = new List<string>();
        foreach (var alias in (string[])[Postgres, .. ReplicaNames, Processing, .. RunnerNames])
        {
            parts.Add(await Sandbox.LogsAsync(alias, cancellationToken));
        }

        return string.Join('\n', parts);
    }

    /// <summary>
    /// Polls <c>/health</c> through the load balancer until each of <paramref name="replicas"/> has answered 200 (the
    /// balancer names the replica that answered in <c>X-Served-By</c>).
    /// </summary>
    public async Task WaitUntilServedByAsync(IReadOnlyCollection<string> replicas, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        var seen = new HashSet<string>();
        async Task<string> AskAsync()
        {
            try
            {
                using var response = await http.GetAsync("/health", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK && ServedBy(response) is { } replica)
                {
                    seen.Add(replica);
                }

                return $"{(int)response.StatusCode} from {ServedBy(response)}";
            }
            catch (HttpRequestException ex)
            {
                return ex.Message;
            }
        }

        try
        {
            await Poll.UntilAsync(AskAsync, _ => replicas.All(seen.Contains), StartTimeout, "every replica answers /health through the load balancer", () => $"seen: {string.Join(", ", seen)}");
        }
        catch (TimeoutException ex)
        {
            Assert.Fail($"{ex.Message}\n{await DescribeAsync(cancellationToken)}");
        }
    }

    /// <summary>Which replica answered, as the load balancer says.</summary>
    public static string? ServedBy(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Served-By", out var values) ? values.FirstOrDefault() : null;

    /// <summary>Starts <paramref name="copies"/> of the container resource <paramref name="name"/> on <paramref name="image"/>.</summary>
    private async Task StartContainerAsync(string name, string image, IReadOnlyList<string> copies, CancellationToken cancellationToken)
    {
        if (Manifest.BindMounts(name) is { Count: > 0 } mounts)
        {
            throw new InvalidOperationException($"'{name}' declares bind mounts ({string.Join(", ", mounts)}): a deployment has no folders of this machine to give it.");
        }

        List<string> options = [];
        foreach (var (volume, target) in Manifest.Volumes(name))
        {
            options.AddRange(["--mount", $"type=volume,source={await Sandbox.CreateVolumeAsync(volume, cancellationToken)},target={target}"]);
        }

        var port = Manifest.FirstTargetPort(name);
        foreach (var copy in copies)
        {
            await Sandbox.StartAsync(copy, image, port, Manifest.Environment(name), options, cancellationToken);
        }
    }

    /// <summary>Polls each copy's <c>/health</c> (its first declared port, published on this machine) until it answers 200.</summary>
    private async Task WaitUntilHealthyAsync(IReadOnlyList<string> copies, CancellationToken cancellationToken)
    {
        var port = Manifest.FirstTargetPort(Runner);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var copy in copies)
        {
            var url = new Uri($"http://127.0.0.1:{await Sandbox.HostPortAsync(copy, port, cancellationToken)}/health");
            try
            {
                await Poll.UntilAsync(() => HealthAsync(http, url, cancellationToken), answer => answer.StartsWith("200", StringComparison.Ordinal), StartTimeout, $"{copy} answers /health with 200");
            }
            catch (TimeoutException ex)
            {
                Assert.Fail($"{ex.Message}\n{await DescribeAsync(cancellationToken)}");
            }
        }
    }

    private static async Task<string> HealthAsync(HttpClient http, Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            return $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}";
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
    }

    private static string[] Copies(string name) => [.. Enumerable.Range(1, Replicas).Select(i => $"{name}-{i}")];

    /// <summary>The README's publish command, run as a user runs it (the image settings of this environment apply).</summary>
    private static async Task<(string Text, AspireManifest Manifest)> PublishAsync(CancellationToken cancellationToken)
    {
        var output = Directory.CreateTempSubdirectory("datastack-rehearsal-").FullName;
        try
        {
            var path = Path.Combine(output, "aspire-manifest.json");
            await AppHostCommand.PublishManifestAsync(path, cancellationToken);
            var text = await File.ReadAllTextAsync(path, cancellationToken);
            return (text, AspireManifest.Parse(text, output));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static async Task<string?> MissingImagesAsync(CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        if (!await DockerSandbox.ImageExistsAsync(ProcessingImage, cancellationToken))
        {
            missing.Add($"Processing's deploy image '{ProcessingImage}': {HowToBuildProcessingImage}");
        }

        if (!await DockerSandbox.ImageExistsAsync(LoadBalancerImage, cancellationToken))
        {
            missing.Add($"the load balancer '{LoadBalancerImage}': build it with tests/images/build-standins.sh loadbalancer");
        }

        return missing.Count == 0 ? null : $"The deployment rehearsal needs local images: {string.Join("; ", missing)}.";
    }
}
