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
    public static async Task<string?> DescribeUnavailableImageAsync(IResource resource, ContainerRuntime runtime, CancellationToken cancellationToken)
    {
        if (resource is not ContainerResource container || container.HasAnnotationOfType<DockerfileBuildAnnotation>()
            || !container.TryGetContainerImageName(out var image))
        {
            return null;
        }

        try
        {
            if (await runtime.ImageIdAsync(image, cancellationToken) is not null)
            {
                return null;
            }

            var pull = await runtime.RunAsync(["pull", "--quiet", image], PullTimeout, cancellationToken);
            var answer = pull.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {pull.ExitCode}";
            return pull.ExitCode == 0
                ? $"its image {image} was not on this machine; it has been pulled now: start the AppHost again"
                : $"its image {image} is not on this machine and cannot be pulled: {answer}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException)
        {
            return $"its image {image} could not be checked ({runtime.Name}: {ex.Message})";
        }
    }
}
