namespace DataStack.AppHost.Tests;

/// <summary>
/// A fact that starts real containers. Skipped, with the reason in the test report, when no container runtime
/// answers; with <c>DATASTACK_REQUIRE_DOCKER=1</c> or <c>CI=true</c> it runs anyway and fails with that reason.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        if (!ContainerRuntime.IsRequired && ContainerRuntime.Unavailability is { } reason)
        {
            Skip = $"Needs a running container runtime: {reason} Install and start Docker Desktop / Docker Engine (or Podman with ASPIRE_CONTAINER_RUNTIME=podman). Set {ContainerRuntime.RequireVariable}=1 (CI=true does the same) to fail instead of skipping.";
        }
    }
}
