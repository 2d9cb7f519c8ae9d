namespace DataStack.AppHost;

/// <summary>
/// The runners: the team's Python (<c>Jupyter/pipelines</c>) run as production jobs, in an image built from the
/// notebook's Dockerfile (its <c>runner</c> stage: same base image setting, same requirements, same <c>datastack</c>,
/// no notebook server). See docs/runners.md.
/// </summary>
internal static class RunnerExtensions
{
    /// <summary>The runner image's stage in <c>Jupyter/Dockerfile</c>.</summary>
    public const string Stage = "runner";

    /// <summary>The port of the runner's <c>/health</c> and <c>/alive</c> probes (<c>DATASTACK_RUNNER_HEALTH_PORT</c>).</summary>
    public const int HealthPort = 8080;

    /// <summary>Where run mode mounts the repository's <c>Jupyter/pipelines</c> in a runner: over the image's own copy.</summary>
    public const string PipelinesMount = "/opt/datastack/pipelines";

    /// <summary>
    /// Adds <paramref name="copies"/> runner containers, <c>runner</c>, <c>runner-2</c>, …, each wired by
    /// <paramref name="wire"/>. Published, there is one <c>runner</c>: how many copies run is the target's choice.
    /// </summary>
    /// <remarks>
    /// Aspire has replicas for projects only; a container is one resource per copy. The copies after the first are
    /// shown under it in the dashboard. They share one image, built only when something it is built from changed
    /// (the first start after a change builds it once per copy, all but one from BuildKit's cache).
    /// </remarks>
    public static IResourceBuilder<ContainerResource> AddRunners(
        this IDistributedApplicationBuilder builder, string name, ImageSettings images, int copies,
        Action<IResourceBuilder<ContainerResource>> wire)
    {
        if (copies < 1)
        {
            throw new InvalidOperationException($"The AppHost setting 'Runner:Replicas' is {copies}: at least one runner runs the python jobs.");
        }

        var first = builder.AddRunner(name, name, images, wire);
        for (var copy = 2; builder.ExecutionContext.IsRunMode && copy <= copies; copy++)
        {
            builder.AddRunner($"{name}-{copy}", name, images, wire).WithParentRelationship(first);
        }

        return first;
    }

    private static IResourceBuilder<ContainerResource> AddRunner(
        this IDistributedApplicationBuilder builder, string name, string imageName, ImageSettings images, Action<IResourceBuilder<ContainerResource>> wire)
    {
        var runner = builder.AddDockerfile(name, "../Jupyter", stage: Stage)
            .WithBuildArg("BASE_IMAGE", images.RunnerBase.ToString())
            .WithBuildArg("PIP_INDEX_URL", images.JupyterPipIndexUrl)
            .WithBuildOnlyWhenChanged(images.RunnerBase, imageName)
            .WithHttpEndpoint(targetPort: HealthPort, name: "http")
            .WithEnvironment("DATASTACK_RUNNER_HEALTH_PORT", HealthPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithHttpHealthCheck("/health")
            .WithPipelinesFromTheRepository();
        wire(runner);
        return runner;
    }

    /// <summary>
    /// In run mode, the runner reads <c>Jupyter/pipelines</c> from the repository (read-only), so an edit applies to
    /// the next job without a rebuild. Published, it runs the pipelines built into its image.
    /// </summary>
    private static IResourceBuilder<ContainerResource> WithPipelinesFromTheRepository(this IResourceBuilder<ContainerResource> runner) =>
        runner.ApplicationBuilder.ExecutionContext.IsRunMode
            ? runner
                .WithBindMount("../Jupyter/pipelines", PipelinesMount, isReadOnly: true)
                .WithEnvironment("DATASTACK_RUNNER_PIPELINES", PipelinesMount)
            : runner;
}
