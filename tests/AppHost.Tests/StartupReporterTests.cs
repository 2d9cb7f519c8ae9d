using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DataStack.AppHost.Tests;

/// <summary>
/// What the AppHost's console says when a resource cannot start because its image is not there and cannot be pulled.
/// </summary>
public sealed class StartupReporterTests
{
    [DockerFact]
    public async Task APostgresImageThatCannotBePulledIsNamedWithTheRuntimesAnswer()
    {
        // Arrange: a registry on a loopback port nobody listens on, so the pull fails at once and nothing leaves the machine.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        const string Image = "127.0.0.1:9/datastack-absent/postgres:17";
        var console = new RecordingLoggerProvider();
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [
                $"--Images:Postgres={Image}",
                "--Images:PgWeb=none",
                $"--Parameters:processing-api-key={Guid.NewGuid():N}",
                $"--Parameters:postgres-password={Guid.NewGuid():N}",
                $"--Parameters:jupyter-token={Guid.NewGuid():N}",
            ],
            cts.Token);
        // No data volume: the container never starts, and no volume of a developer's is touched.
        var postgres = builder.Resources.OfType<PostgresServerResource>().Single();
        postgres.Annotations.Remove(postgres.Annotations.OfType<ContainerMountAnnotation>().Single(mount => mount.Type == ContainerMountType.Volume));
        builder.Services.AddSingleton<ILoggerProvider>(console);
        await using var app = await builder.BuildAsync(cts.Token);

        // Act
        await app.StartAsync(cts.Token);
        await app.ResourceNotifications.WaitForResourceAsync("postgres", KnownResourceStates.FailedToStart, cts.Token);
        var report = await console.WaitForAsync(message => message.StartsWith("Resource 'postgres' is FailedToStart", StringComparison.Ordinal), cts.Token);

        // Assert
        Assert.Contains($"its image {Image} is not on this machine and cannot be pulled: ", report, StringComparison.Ordinal);
        Assert.Contains("connection refused", report, StringComparison.OrdinalIgnoreCase);
    }
}
