using DataStack.AppHost.Tests.Deployment;

namespace DataStack.AppHost.Tests;

/// <summary>
/// Processing's deploy image as built (SDK container support). What it does once deployed, next to postgres and behind a
/// load balancer, is the deployment rehearsal's (<see cref="Deployment.DeploymentRehearsalTests"/>). Real Docker, nothing
/// pulled: the image must be local (<see cref="Rehearsal.ProcessingImageVariable"/>).
/// </summary>
public sealed class ProcessingImageTests
{
    private static TimeSpan TestTimeout { get; } = TimeSpan.FromMinutes(5);

    private static string ProcessingImage => Rehearsal.ProcessingImage;

    [DockerFact]
    public async Task ProcessingImageRunsAsANonRootUserAndAdvertisesPort8080()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TestTimeout);
        await RequireImageAsync(cts.Token);

        // Act
        var user = await DockerSandbox.InspectImageAsync(ProcessingImage, "{{.Config.User}}", cts.Token);
        var ports = await DockerSandbox.InspectImageAsync(ProcessingImage, "{{range $port, $_ := .Config.ExposedPorts}}{{$port}} {{end}}", cts.Token);

        // Assert
        Assert.False(string.IsNullOrEmpty(user), "The image has no user: it would run as root.");
        Assert.DoesNotContain(user.Split(':')[0], new[] { "0", "root" });
        Assert.Contains("8080/tcp", ports.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Fails, naming the script or command that builds it, when the image is not in the local image store.</summary>
    private static async Task RequireImageAsync(CancellationToken cancellationToken)
    {
        if (ContainerRuntime.Unavailability is { } reason)
        {
            // Reached only when the runtime is required (DockerFact skips otherwise).
            Assert.Fail($"A container runtime is required here ({ContainerRuntime.RequireVariable}=1 or CI=true) but none answers: {reason}");
        }

        if (!await DockerSandbox.ImageExistsAsync(ProcessingImage, cancellationToken))
        {
            Assert.Fail($"The Processing image '{ProcessingImage}' is not in the local image store: {Rehearsal.HowToBuildProcessingImage}.");
        }
    }
}
