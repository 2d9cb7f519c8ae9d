using Aspire.Hosting.Postgres;

namespace DataStack.AppHost.Tests;

/// <summary>
/// The app model as AppHost.cs declares it. Nothing is started: these tests need no container runtime.
/// </summary>
public sealed class AppHostModelTests
{
    [Fact]
    public async Task ModelDeclaresTheContractResourcesByName()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Assert
        var postgres = builder.GetResource<PostgresServerResource>("postgres");
        var analytics = builder.GetResource<PostgresDatabaseResource>("analytics");
        Assert.Same(postgres, analytics.Parent);
        Assert.Equal("analytics", analytics.DatabaseName);
        Assert.Same(builder.GetResource<ParameterResource>("postgres-password"), postgres.PasswordParameter);
        builder.GetResource<ProjectResource>("processing");
        builder.GetResource<ContainerResource>("jupyter");
    }

    [Fact]
    public async Task ProcessingGetsTheAspireProfilesPortNotTheOneProcessingAloneUses()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Act
        var processing = builder.GetResource<ProjectResource>("processing");

        // Assert: 5180 from the "aspire" launch profile; `dotnet run --project Processing` alone binds 5190.
        var http = Assert.Single(processing.Annotations.OfType<EndpointAnnotation>(), endpoint => endpoint.Name == "http");
        Assert.Equal(5180, http.Port);
    }

    [Theory]
    [InlineData("postgres-password")]
    [InlineData("processing-api-key")]
    [InlineData("jupyter-token")]
    public async Task ParameterIsASecretWithAGeneratedDefault(string name)
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Act
        var parameter = builder.GetResource<ParameterResource>(name);

        // Assert
        Assert.True(parameter.Secret);
        Assert.NotNull(parameter.Default);
    }

    [Fact]
    public async Task PostgresImageIsPinnedAndKeepsItsDataInAVolume()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Act
        var postgres = builder.GetResource<PostgresServerResource>("postgres");

        // Assert
        var image = postgres.Annotations.OfType<ContainerImageAnnotation>().Last();
        Assert.Equal(("docker.io", "library/postgres", "17.6"), (image.Registry, image.Image, image.Tag));
        var volume = Assert.Single(postgres.Annotations.OfType<ContainerMountAnnotation>(), mount => mount.Type == ContainerMountType.Volume);
        Assert.Equal("/var/lib/postgresql/data", volume.Target);
    }

    [Fact]
    public async Task ProcessingRunsFromItsBuildOutputWhenRunningLocallyAndIsPublishedAsAProject()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var run = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);
        await using var publish = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, cts.Token);

        // Act
        var processing = run.GetResource<ProjectResource>("processing");
        var launch = processing.Annotations.OfType<ExecutableAnnotation>().LastOrDefault();
        var arguments = await run.GetArgumentsAsync(processing, cts.Token);

        // Assert: `dotnet <the dll the AppHost's build wrote>` in the project's folder (its content root), not `dotnet run`.
        var projectDirectory = Path.GetDirectoryName(processing.GetProjectMetadata().ProjectPath)!;
        Assert.NotNull(launch);
        Assert.Equal(("dotnet", projectDirectory), (launch.Command, launch.WorkingDirectory));
        var assembly = Assert.Single(arguments);
        Assert.StartsWith(Path.Combine(projectDirectory, "bin"), assembly, StringComparison.Ordinal);
        Assert.EndsWith("Processing.dll", assembly, StringComparison.Ordinal);
        Assert.True(File.Exists(assembly), assembly);
        Assert.Empty(publish.GetResource<ProjectResource>("processing").Annotations.OfType<ExecutableAnnotation>());
    }

    [Fact]
    public async Task PostgresOutlivesTheAppHostUnlessItsLifetimeSettingIsSession()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var byDefault = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);
        await using var session = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Postgres:Lifetime=Session"], cts.Token);

        // Act
        var configured = Lifetime(byDefault.GetResource<PostgresServerResource>("postgres"));
        var sessionOnly = Lifetime(session.GetResource<PostgresServerResource>("postgres"));

        // Assert: appsettings.json sets Persistent.
        Assert.Equal(ContainerLifetime.Persistent, configured);
        Assert.Equal(ContainerLifetime.Session, sessionOnly);

        static ContainerLifetime Lifetime(IResource resource) =>
            resource.Annotations.OfType<ContainerLifetimeAnnotation>().LastOrDefault()?.Lifetime ?? ContainerLifetime.Session;
    }

    [Fact]
    public async Task ALifetimeSettingThatIsNeitherSessionNorPersistentStopsTheAppHostNamingTheSetting()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Postgres:Lifetime=forever"], cts.Token));

        // Assert
        Assert.Contains("Postgres:Lifetime", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessingReferencesAnalyticsAndWaitsUntilItIsHealthy()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Act
        var processing = builder.GetResource<ProjectResource>("processing");

        // Assert
        Assert.Contains(processing.Annotations.OfType<ResourceRelationshipAnnotation>(), relationship => relationship.Type == "Reference" && relationship.Resource.Name == "analytics");
        Assert.Contains(processing.Annotations.OfType<WaitAnnotation>(), wait => wait.Resource.Name == "analytics" && wait.WaitType == WaitType.WaitUntilHealthy);
    }

    [Fact]
    public async Task ProcessingReceivesTheWiringContract()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, cts.Token);
        var processing = builder.GetResource<ProjectResource>("processing");

        // Act
        var environment = await builder.GetEnvironmentAsync(processing, cts.Token);

        // Assert
        Assert.Equal("{analytics.connectionString}", environment["ConnectionStrings__analytics"]);
        Assert.Equal("{processing-api-key.value}", environment["Processing__ApiKey"]);
        // Published replicas share no disk: no data folder is declared for them (uploads need none).
        Assert.DoesNotContain("Processing__DataDir", environment.Keys);
    }

    [Fact]
    public async Task ThePublishedPostgresCreatesTheAnalyticsDatabase()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, cts.Token);
        var postgres = builder.GetResource<PostgresServerResource>("postgres");

        // Act
        var environment = await builder.GetEnvironmentAsync(postgres, cts.Token);

        // Assert: AddDatabase creates it in run mode only; the official image's entrypoint honours POSTGRES_DB.
        Assert.Equal("analytics", environment["POSTGRES_DB"]);
    }

    [Fact]
    public async Task JupyterReceivesTheWiringContract()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, cts.Token);
        var jupyter = builder.GetResource<ContainerResource>("jupyter");

        // Act
        var environment = await builder.GetEnvironmentAsync(jupyter, cts.Token);

        // Assert
        string[] connectionProperties = ["ANALYTICS_URI", "ANALYTICS_HOST", "ANALYTICS_PORT", "ANALYTICS_USERNAME", "ANALYTICS_PASSWORD", "ANALYTICS_DATABASENAME"];
        Assert.Equal("{analytics.connectionString}", environment["ConnectionStrings__analytics"]);
        Assert.All(connectionProperties, name => Assert.Contains(name, environment.Keys));
        Assert.Equal("{processing.bindings.http.url}", environment["services__processing__http__0"]);
        Assert.Equal("{processing.bindings.http.url}", environment["PROCESSING_HTTP"]);
        Assert.Equal("{processing-api-key.value}", environment["DATASTACK_API_KEY"]);
        Assert.Equal("{jupyter-token.value}", environment["JUPYTER_TOKEN"]);
    }

    [Fact]
    public async Task JupyterExportsTelemetryIsHealthCheckedAndStartsWithoutWaitingForProcessing()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Act
        var jupyter = builder.GetResource<ContainerResource>("jupyter");

        // Assert
        Assert.True(jupyter.HasAnnotationOfType<OtlpExporterAnnotation>());
        Assert.True(jupyter.HasAnnotationOfType<HealthCheckAnnotation>());
        // Its server needs nothing else to start: the container (and DCP's tunnel to the host) start with postgres.
        Assert.Empty(jupyter.Annotations.OfType<WaitAnnotation>());
    }

    [Fact]
    public async Task JupyterMountsTheNotebooksThePipelinesAndTheSharedDataFolder()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);
        var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));

        // Act
        var mounts = builder.GetResource<ContainerResource>("jupyter").Annotations.OfType<ContainerMountAnnotation>()
            .Where(mount => mount.Type == ContainerMountType.BindMount)
            .ToDictionary(mount => mount.Target, mount => mount.Source);

        // Assert
        Assert.Equal(Path.Combine(repositoryRoot, "Jupyter", "notebooks"), mounts["/home/jovyan/work/notebooks"]);
        Assert.Equal(Path.Combine(repositoryRoot, "Jupyter", "pipelines"), mounts["/home/jovyan/work/pipelines"]);
        Assert.Equal(Path.Combine(repositoryRoot, "data"), mounts["/data"]);
    }

    [Fact]
    public async Task PublishingLeavesOutJupyterAndPgweb()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, cts.Token);

        // Assert
        Assert.True(builder.GetResource<ContainerResource>("jupyter").IsExcludedFromPublish());
        Assert.False(builder.GetResource<ProjectResource>("processing").IsExcludedFromPublish());
        Assert.False(builder.GetResource<PostgresServerResource>("postgres").IsExcludedFromPublish());
        Assert.Empty(builder.Resources.OfType<PgWebContainerResource>());
    }

    [Fact]
    public async Task RunningLocallyAddsPgweb()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Assert
        Assert.Single(builder.Resources.OfType<PgWebContainerResource>());
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData("3", 3)]
    public async Task ProcessingReplicasComeFromConfiguration(string? configuredReplicas, int expected)
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        string[] args = configuredReplicas is null ? [] : [$"--Processing:Replicas={configuredReplicas}"];

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, args, cts.Token);

        // Assert
        Assert.Equal(expected, builder.GetResource<ProjectResource>("processing").GetReplicaCount());
    }

    [Fact]
    public async Task ProcessingOffersTheDashboardCommands()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Act
        var commands = builder.GetResource<ProjectResource>("processing").Annotations.OfType<ResourceCommandAnnotation>()
            .ToDictionary(command => command.Name, command => command.DisplayName);

        // Assert
        Assert.Equal("Load sample data", commands["load-sample-data"]);
        Assert.Equal("Re-queue failed jobs", commands["requeue-failed-jobs"]);
    }
}
