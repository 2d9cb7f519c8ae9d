using Aspire.Hosting.Postgres;

namespace DataStack.AppHost.Tests;

/// <summary>
/// The image settings (<c>Images:*</c>, <c>Jupyter:*</c>) as the app model applies them. Nothing is started.
/// </summary>
public sealed class ImageSettingsTests
{
    [Theory]
    [InlineData("docker.io/library/postgres:17.6", "docker.io", "library/postgres", "17.6")]
    [InlineData("datastack-standin/postgres:15", null, "datastack-standin/postgres", "15")]
    [InlineData("localhost/pg:1", "localhost", "pg", "1")]
    [InlineData("127.0.0.1:5000/team/postgres:17", "127.0.0.1:5000", "team/postgres", "17")]
    [InlineData("mirror.corp:8443/library/postgres", "mirror.corp:8443", "library/postgres", "latest")]
    [InlineData("postgres", null, "postgres", "latest")]
    public void ImageReferenceReadsRegistryRepositoryAndTagAsDockerDoes(string value, string? registry, string repository, string tag)
    {
        // Act
        var parsed = ImageReference.TryParse(value, out var reference);

        // Assert
        Assert.True(parsed);
        Assert.Equal(new ImageReference(registry, repository, tag), reference);
    }

    [Theory]
    [InlineData("")]
    [InlineData("postgres 17")]
    [InlineData("postgres:")]
    [InlineData("postgres@sha256:abc")]
    [InlineData("docker.io/")]
    public void ImageReferenceRejectsWhatIsNotAReference(string value)
    {
        // Act
        var parsed = ImageReference.TryParse(value, out _);

        // Assert
        Assert.False(parsed);
    }

    [Fact]
    public async Task PostgresImageComesFromItsSettingAndKeepsTheDataDirectoryOfItsTag()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Images:Postgres=datastack-standin/postgres:15"], cts.Token);

        // Assert
        var postgres = builder.GetResource<PostgresServerResource>("postgres");
        var image = postgres.Annotations.OfType<ContainerImageAnnotation>().Last();
        Assert.Equal((null, "datastack-standin/postgres", "15"), (image.Registry, image.Image, image.Tag));
        Assert.Contains(postgres.Annotations.OfType<ContainerMountAnnotation>(), mount => mount.Target == "/var/lib/postgresql/data");
    }

    [Fact]
    public async Task RegistryMirrorReplacesTheRegistryOfEveryPulledImage()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Images:Registry=mirror.example:5000"], cts.Token);

        // Assert
        var postgres = builder.GetResource<PostgresServerResource>("postgres").Annotations.OfType<ContainerImageAnnotation>().Last();
        var pgWeb = Assert.Single(builder.Resources.OfType<PgWebContainerResource>()).Annotations.OfType<ContainerImageAnnotation>().Last();
        var jupyterBase = BuildArguments(builder)["BASE_IMAGE"];
        Assert.Equal("mirror.example:5000/library/postgres:17.6", $"{postgres.Registry}/{postgres.Image}:{postgres.Tag}");
        Assert.Equal("mirror.example:5000/sosedoff/pgweb:0.17.0", $"{pgWeb.Registry}/{pgWeb.Image}:{pgWeb.Tag}");
        Assert.Equal("mirror.example:5000/jupyter/scipy-notebook:2025-12-31", jupyterBase);
    }

    [Fact]
    public async Task PgWebIsLeftOutWhenItsImageIsNone()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Images:PgWeb=none"], cts.Token);

        // Assert
        Assert.Empty(builder.Resources.OfType<PgWebContainerResource>());
    }

    [Fact]
    public async Task JupyterIsBuiltOnTheConfiguredBaseAndPackageIndex()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        string[] args = ["--Jupyter:BaseImage=team/databricks-ml-notebook:14.3", "--Jupyter:PipIndexUrl=none"];

        // Act
        await using var builder = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, args, cts.Token);

        // Assert
        var arguments = BuildArguments(builder);
        Assert.Equal("team/databricks-ml-notebook:14.3", arguments["BASE_IMAGE"]);
        Assert.Equal("none", arguments["PIP_INDEX_URL"]);
    }

    [Fact]
    public async Task AnImageSettingThatIsNotAReferenceStopsTheAppHostNamingTheSetting()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);

        // Act
        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.CreateAsync(DistributedApplicationOperation.Run, ["--Images:Postgres=postgres 17"], cts.Token));

        // Assert
        Assert.Contains("'Images:Postgres' is 'postgres 17'", error.ToString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, object?> BuildArguments(IDistributedApplicationTestingBuilder builder) =>
        builder.GetResource<ContainerResource>("jupyter").Annotations.OfType<DockerfileBuildAnnotation>().Single().BuildArguments.ToDictionary();
}
