using System.Diagnostics;

namespace DataStack.AppHost;

/// <summary>
/// Says why the image of a container that failed to start is unavailable: not on this machine, and what the container
/// runtime answers when asked to pull it (an unknown registry host, a missing tag, a refused login).
/// </summary>
/// <remarks>
/// DCP logs a failed pull at Debug level, and for some resources (postgres) the resource's own log then says only
/// <c>No such container</c>; a newcomer needs the image's name and the registry's answer. Images built from a
/// Dockerfile (jupyter) are left out: their build log already shows the pull of their base.
/// </remarks>
internal static class ContainerImageProbe
{
    private static TimeSpan PullTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Null when <paramref name="resource"/> is not a pulled container or its image is present; otherwise one line
    /// naming the image and the runtime's answer to a pull.
    /// </summary>
    public static async Task<string?> DescribeUnavailableImageAsync(IResource resource, CancellationToken cancellationToken)
    {
        if (resource is not ContainerResource container || container.HasAnnotationOfType<DockerfileBuildAnnotation>()
            || !container.TryGetContainerImageName(out var image))
        {
            return null;
        }

        // The runtime DCP uses: docker unless ASPIRE_CONTAINER_RUNTIME says podman.
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME") is { Length: > 0 } configured ? configured : "docker";
        try
        {
            if ((await RunAsync(runtime, ["image", "inspect", "--format", "{{.Id}}", image], cancellationToken)).ExitCode == 0)
            {
                return null;
            }

            var pull = await RunAsync(runtime, ["pull", "--quiet", image], cancellationToken);
            var answer = pull.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {pull.ExitCode}";
            return pull.ExitCode == 0
                ? $"its image {image} was not on this machine; it has been pulled now: start the AppHost again"
                : $"its image {image} is not on this machine and cannot be pulled: {answer}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException)
        {
            return $"its image {image} could not be checked ({runtime}: {ex.Message})";
        }
    }

    private static async Task<(int ExitCode, string Error)> RunAsync(string runtime, string[] arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(runtime) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new TimeoutException($"{runtime} did not start");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PullTimeout);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{runtime} {string.Join(' ', arguments)}' did not finish within {PullTimeout.TotalSeconds:F0} s");
        }

        await output;
        return (process.ExitCode, await error);
    }
}
