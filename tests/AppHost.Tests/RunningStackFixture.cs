namespace DataStack.AppHost.Tests;

/// <summary>
/// The whole stack from the AppHost, started once for the end-to-end tests: real PostgreSQL in a container and
/// Processing as a process. Jupyter is left unstarted (building its image is not what these tests are about).
/// </summary>
public sealed class RunningStackFixture : IAsyncLifetime
{
    private static TimeSpan StartupTimeout { get; } = TimeSpan.FromMinutes(5);

    private IDistributedApplicationTestingBuilder? _builder;
    private DistributedApplication? _app;

    /// <summary>The API key this run gives Processing; generated per run so no user secret is read or written.</summary>
    public string ApiKey { get; } = Guid.NewGuid().ToString("N");

    public DistributedApplication App =>
        _app ?? throw new InvalidOperationException($"The stack did not start: {ContainerRuntime.Unavailability ?? "see the fixture's exception"}");

    public async Task InitializeAsync()
    {
        if (ContainerRuntime.Unavailability is { } reason)
        {
            if (ContainerRuntime.IsRequired)
            {
                throw new InvalidOperationException($"A container runtime is required here ({ContainerRuntime.RequireVariable}=1 or CI=true) but none answers: {reason}");
            }

            // The tests are skipped by DockerFact; there is nothing to start.
            return;
        }

        using var cts = new CancellationTokenSource(StartupTimeout);
        _builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [
                $"--Parameters:processing-api-key={ApiKey}",
                $"--Parameters:postgres-password={Guid.NewGuid():N}",
                $"--Parameters:jupyter-token={Guid.NewGuid():N}",
            ],
            cts.Token);

        // Each run owns its database: drop the named data volume a developer's `dotnet run` keeps using.
        var postgres = _builder.Resources.OfType<PostgresServerResource>().Single();
        foreach (var volume in postgres.Annotations.OfType<ContainerMountAnnotation>().Where(mount => mount.Type == ContainerMountType.Volume).ToList())
        {
            postgres.Annotations.Remove(volume);
        }

        var jupyter = _builder.Resources.OfType<ContainerResource>().Single(resource => resource.Name == "jupyter");
        _builder.CreateResourceBuilder(jupyter).WithExplicitStart();

        _app = await _builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("processing", cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_builder is not null)
        {
            await _builder.DisposeAsync();
        }
    }
}
