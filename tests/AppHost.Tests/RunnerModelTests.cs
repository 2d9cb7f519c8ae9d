namespace DataStack.AppHost.Tests;

/// <summary>
/// The runners as AppHost.cs declares them: built from the notebook's Dockerfile, wired like jupyter, published.
/// Nothing is started.
/// </summary>
public sealed class RunnerModelTests
{
    [Fact]
    public async Task RunnerIsBuiltFromTheRunnerStageOfTheNotebooksDockerfileOnTheSameBaseImage()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);

        // Act
        var runner = Build(builder, "runner");
        var jupyter = Build(builder, "jupyter");

        // Assert
        Assert.Equal(("runner", "jupyter"), (runner.Stage, jupyter.Stage));
        Assert.Equal(jupyter.ContextPath, runner.ContextPath);
        Assert.Equal(jupyter.DockerfilePath, runner.DockerfilePath);
        Assert.Equal(jupyter.BuildArguments["BASE_IMAGE"], runner.BuildArguments["BASE_IMAGE"]);
        Assert.Equal(jupyter.BuildArguments["PIP_INDEX_URL"], runner.BuildArguments["PIP_INDEX_URL"]);
    }

    [Fact]
    public async Task RunnerBaseImageSettingGivesTheRunnerAnotherBaseAndLeavesJupyterAlone()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Runner:BaseImage=registry.example/team/python-ml:3.12"], cts.Token);

        // Assert
        Assert.Equal("registry.example/team/python-ml:3.12", Build(builder, "runner").BuildArguments["BASE_IMAGE"]);
        Assert.Equal("quay.io/jupyter/scipy-notebook:2025-12-31", Build(builder, "jupyter").BuildArguments["BASE_IMAGE"]);
    }

    [Fact]
    public async Task RunnerMountsThePipelinesOfTheRepositoryReadOnlyWhenRunningLocally()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);
        var runner = builder.GetResource<ContainerResource>("runner");

        // Act
        var mount = Assert.Single(runner.Annotations.OfType<ContainerMountAnnotation>());

        // Assert
        Assert.Equal(ContainerMountType.BindMount, mount.Type);
        Assert.Equal(Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "Jupyter", "pipelines")), mount.Source);
        Assert.True(mount.IsReadOnly);
        Assert.Equal("pipelines", Path.GetFileName(mount.Target)); // the runner imports the folder as the package `pipelines`
    }

    [Fact]
    public async Task RunnerReceivesTheWiringContractAndIsHealthChecked()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, cts.Token);
        var runner = builder.GetResource<ContainerResource>("runner");

        // Act
        var environment = await builder.GetEnvironmentAsync(runner, cts.Token);

        // Assert
        Assert.Equal("{analytics.connectionString}", environment["ConnectionStrings__analytics"]);
        Assert.Equal("{processing.bindings.http.url}", environment["services__processing__http__0"]);
        Assert.Equal("{processing-api-key.value}", environment["DATASTACK_API_KEY"]);
        Assert.DoesNotContain("DATASTACK_RUNNER_PIPELINES", environment.Keys);
        Assert.DoesNotContain(environment.Keys, name => name.Contains("https", StringComparison.OrdinalIgnoreCase));
        Assert.True(runner.HasAnnotationOfType<OtlpExporterAnnotation>());
        Assert.True(runner.HasAnnotationOfType<HealthCheckAnnotation>());
        Assert.False(runner.IsExcludedFromPublish());
        Assert.Empty(runner.Annotations.OfType<ContainerMountAnnotation>());
    }

    [Fact]
    public async Task RunnerReplicasSettingAddsCopiesShownUnderTheFirst()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Runner:Replicas=3"], cts.Token);

        // Assert
        var runners = builder.Resources.Where(resource => resource.Name.StartsWith("runner", StringComparison.Ordinal)).Select(resource => resource.Name).Order();
        Assert.Equal(["runner", "runner-2", "runner-3"], runners);
        foreach (var copy in (string[])["runner-2", "runner-3"])
        {
            var parent = Assert.Single(builder.GetResource<ContainerResource>(copy).Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Type == "Parent");
            Assert.Equal("runner", parent.Resource.Name);
        }
    }

    [Fact]
    public async Task PublishingKeepsOneRunnerWhateverTheLocalCopies()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, ["--Runner:Replicas=3"], cts.Token);

        // Assert
        Assert.Single(builder.Resources, resource => resource.Name.StartsWith("runner", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoRunnerIsAClearError()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Runner:Replicas=0"], cts.Token));

        // Assert
        Assert.Contains("'Runner:Replicas' is 0", error.ToString(), StringComparison.Ordinal);
    }

    private static DockerfileBuildAnnotation Build(IDistributedApplicationTestingBuilder builder, string name) =>
        Assert.Single(builder.GetResource<ContainerResource>(name).Annotations.OfType<DockerfileBuildAnnotation>());
}
