using System.Globalization;

namespace DataStack.AppHost.Tests;

/// <summary>
/// Containers on a user-defined network of their own, driven through the container runtime's command line
/// (<see cref="ContainerRuntime.Executable"/>). Everything it creates is removed on dispose, whatever the test did.
/// Secrets are handed over as environment variables of the CLI process (<c>-e NAME</c> without a value), so they
/// never appear on a command line.
/// </summary>
internal sealed class DockerSandbox : IAsyncDisposable
{
    private static TimeSpan CommandTimeout { get; } = TimeSpan.FromMinutes(2);
    private static TimeSpan BuildTimeout { get; } = TimeSpan.FromMinutes(10);

    private readonly List<string> _containers = [];
    private readonly List<string> _images = [];
    private readonly List<string> _volumes = [];

    private DockerSandbox(string id, string network)
    {
        Id = id;
        Network = network;
    }

    /// <summary>A short random id, part of every name this sandbox creates.</summary>
    public string Id { get; }

    public string Network { get; }

    public static async Task<DockerSandbox> CreateAsync(CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        var network = $"datastack-test-{id}";
        await RunAsync(["network", "create", network], null, cancellationToken);
        return new DockerSandbox(id, network);
    }

    /// <summary>Whether the image is in the local image store (nothing is pulled).</summary>
    public static async Task<bool> ImageExistsAsync(string image, CancellationToken cancellationToken) =>
        (await TryRunAsync(["image", "inspect", "--format", "{{.Id}}", image], null, cancellationToken)).ExitCode == 0;

    /// <summary>A Go template evaluated against the image's configuration (<c>image inspect --format</c>).</summary>
    public static async Task<string> InspectImageAsync(string image, string format, CancellationToken cancellationToken) =>
        await RunAsync(["image", "inspect", "--format", format, image], null, cancellationToken);

    /// <summary>
    /// Starts a detached container on the network under <paramref name="alias"/>, with <paramref name="port"/>
    /// published on 127.0.0.1 only (a free host port), and returns that host port.
    /// </summary>
    public async Task<int> StartAsync(
        string alias,
        string image,
        int port,
        IReadOnlyDictionary<string, string> environment,
        IReadOnlyList<string> options,
        CancellationToken cancellationToken)
    {
        var name = $"datastack-test-{alias}-{Id}";
        List<string> arguments = ["run", "--detach", "--name", name, "--network", Network, "--network-alias", alias, "--publish", $"127.0.0.1::{port}"];
        foreach (var variable in environment.Keys)
        {
            arguments.AddRange(["--env", variable]);
        }

        arguments.AddRange(options);
        arguments.Add(image);

        _containers.Add(name);
        await RunAsync(arguments, environment, cancellationToken);
        return await HostPortAsync(alias, port, cancellationToken);
    }

    /// <summary>
    /// Builds <paramref name="stage"/> of <paramref name="dockerfile"/> in <paramref name="context"/> with the build arguments
    /// given (as a deployment's build step does) and returns the image's name, removed on dispose.
    /// </summary>
    public async Task<string> BuildAsync(
        string name, string context, string dockerfile, string? stage, IReadOnlyDictionary<string, string> buildArguments, CancellationToken cancellationToken)
    {
        var image = $"datastack-test-{name}:{Id}";
        List<string> arguments = ["build", "--tag", image, "--file", dockerfile];
        if (stage is not null)
        {
            arguments.AddRange(["--target", stage]);
        }

        foreach (var (key, value) in buildArguments)
        {
            arguments.AddRange(["--build-arg", $"{key}={value}"]);
        }

        arguments.Add(context);
        _images.Add(image);
        await CommandLine.RunAsync(ContainerRuntime.Executable, arguments, BuildTimeout, cancellationToken);
        return image;
    }

    /// <summary>Creates a named volume of this sandbox (removed on dispose) and returns its name.</summary>
    public async Task<string> CreateVolumeAsync(string name, CancellationToken cancellationToken)
    {
        var volume = $"datastack-test-{name}-{Id}";
        _volumes.Add(volume);
        await RunAsync(["volume", "create", volume], null, cancellationToken);
        return volume;
    }

    /// <summary>Sends <paramref name="signal"/> (SIGKILL: no goodbye) to the container of <paramref name="alias"/>.</summary>
    public Task KillAsync(string alias, CancellationToken cancellationToken, string signal = "KILL") =>
        RunAsync(["kill", "--signal", signal, ContainerName(alias)], null, cancellationToken);

    /// <summary>Starts the stopped container of <paramref name="alias"/> again, with its file system as it was.</summary>
    public Task StartAgainAsync(string alias, CancellationToken cancellationToken) =>
        RunAsync(["start", ContainerName(alias)], null, cancellationToken);

    /// <summary>Stops (SIGTERM, then SIGKILL after 10 s) and starts the container of <paramref name="alias"/>.</summary>
    public Task RestartAsync(string alias, CancellationToken cancellationToken) =>
        RunAsync(["restart", "--time", "10", ContainerName(alias)], null, cancellationToken);

    /// <summary>The host port <paramref name="port"/> of the container of <paramref name="alias"/> is published on (127.0.0.1).</summary>
    public async Task<int> HostPortAsync(string alias, int port, CancellationToken cancellationToken)
    {
        var binding = await RunAsync(["port", ContainerName(alias), $"{port}/tcp"], null, cancellationToken);
        return int.Parse(binding.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].Split(':')[^1], CultureInfo.InvariantCulture);
    }

    /// <summary>Runs a container to its end (attached, removed afterwards) and returns its exit code and output.</summary>
    public async Task<CommandLine.Result> RunToEndAsync(
        string alias, string image, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        List<string> arguments = ["run", "--rm", "--name", ContainerName(alias), "--network", Network];
        foreach (var variable in environment.Keys)
        {
            arguments.AddRange(["--env", variable]);
        }

        arguments.Add(image);
        return await TryRunAsync(arguments, environment, cancellationToken);
    }

    /// <summary>Whether the container of <paramref name="alias"/> is still running.</summary>
    public async Task<bool> IsRunningAsync(string alias, CancellationToken cancellationToken) =>
        await RunAsync(["inspect", "--format", "{{.State.Running}}", ContainerName(alias)], null, cancellationToken) == "true";

    /// <summary>The last lines of a container's output, for a failure message.</summary>
    public async Task<string> LogsAsync(string alias, CancellationToken cancellationToken)
    {
        var result = await TryRunAsync(["logs", "--tail", "40", ContainerName(alias)], null, cancellationToken);
        return $"--- last output of {ContainerName(alias)} ---\n{result.Output}{result.Error}";
    }

    public async ValueTask DisposeAsync()
    {
        // Best effort and never cancelled: a failed test must still leave nothing behind.
        if (_containers.Count > 0)
        {
            await TryRunAsync(["rm", "--force", "--volumes", .. _containers], null, CancellationToken.None);
        }

        await TryRunAsync(["network", "rm", Network], null, CancellationToken.None);
        if (_images.Count > 0)
        {
            await TryRunAsync(["image", "rm", "--force", .. _images], null, CancellationToken.None);
        }
        if (_volumes.Count > 0)
        {
            await TryRunAsync(["volume", "rm", "--force", .. _volumes], null, CancellationToken.None);
        }
    }

    /// <summary>The name of the container of <paramref name="alias"/> (its network alias is <paramref name="alias"/> itself).</summary>
    public string ContainerName(string alias) => $"datastack-test-{alias}-{Id}";

    private static Task<string> RunAsync(
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken) =>
        CommandLine.RunAsync(ContainerRuntime.Executable, arguments, CommandTimeout, cancellationToken, environment: environment);

    private static Task<CommandLine.Result> TryRunAsync(
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken) =>
        CommandLine.TryRunAsync(ContainerRuntime.Executable, arguments, CommandTimeout, cancellationToken, environment: environment);
}
