namespace DataStack.AppHost.Tests;

/// <summary>
/// A fact that starts real containers. Skipped, with the reason in the test report, when no container runtime
/// answers; on CI (<c>CI=true</c>) or with <c>DATASTACK_REQUIRE_DOCKER=1</c> it runs anyway and fails with that reason.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        if (!ContainerRuntime.IsRequired && ContainerRuntime.Unavailability is { } reason)
        {
            Skip = $"Needs a running container runtime: {reason} Install and start Docker Desktop / Docker Engine (or Podman with ASPIRE_CONTAINER_RUNTIME=podman). On CI (CI=true) or with {ContainerRuntime.RequireVariable}=1 these tests fail instead of skipping.";
        }
    }
}
