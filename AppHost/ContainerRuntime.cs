using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace DataStack.AppHost;

/// <summary>
/// The container runtime DCP uses (<c>docker</c> unless <c>ASPIRE_CONTAINER_RUNTIME</c> says otherwise), asked directly
/// for what Aspire does not tell: whether an image is on this machine, and what a pull answers.
/// </summary>
internal sealed class ContainerRuntime(string name)
{
    public string Name { get; } = name;

    public static ContainerRuntime From(IConfiguration configuration) =>
        new(configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"] ?? "docker");

    /// <summary>The id of a local image, or null when the runtime does not have it.</summary>
    public async Task<string?> ImageIdAsync(string image, CancellationToken cancellationToken)
    {
        var inspect = await RunAsync(["image", "inspect", "--format", "{{.Id}}", image], TimeSpan.FromSeconds(30), cancellationToken);
        return inspect.ExitCode == 0 && inspect.Output.Trim() is { Length: > 0 } id ? id : null;
    }

    /// <summary>
    /// Runs the runtime with <paramref name="arguments"/>; throws <see cref="System.ComponentModel.Win32Exception"/> when
    /// it is not on PATH and <see cref="TimeoutException"/> (having killed it) when it runs longer than <paramref name="timeout"/>.
    /// </summary>
    public async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(Name) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new TimeoutException($"{Name} did not start");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var error = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{Name} {string.Join(' ', arguments)}' did not finish within {timeout.TotalSeconds:F0} s");
        }

        return (process.ExitCode, await output, await error);
    }
}
