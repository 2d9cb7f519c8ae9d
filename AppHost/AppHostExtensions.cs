using System.ComponentModel;
using System.Net.Http.Headers;
using System.Reflection;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace DataStack.AppHost;

/// <summary>
/// The wiring of <c>AppHost.cs</c> that is longer than a line or two.
/// </summary>
internal static class AppHostExtensions
{
    /// <summary>
    /// Adds a secret parameter whose value is generated on first run and kept in the AppHost's user secrets.
    /// </summary>
    /// <remarks>
    /// Letters and digits only: the values travel in URLs (the Jupyter token), HTTP headers and connection
    /// strings without any escaping. 32 of them carry about 190 bits.
    /// </remarks>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

    /// <summary>
    /// Runs <paramref name="container"/> on <paramref name="image"/>, registry included (none: the runtime's default).
    /// </summary>
    public static IResourceBuilder<T> WithImage<T>(this IResourceBuilder<T> container, ImageReference image)
        where T : ContainerResource
    {
        container.WithImage(image.Repository, image.Tag);
        var annotation = container.Resource.Annotations.OfType<ContainerImageAnnotation>().Last();
        annotation.Registry = image.Registry;
        return container;
    }

    /// <summary>
    /// Gives a container the lifetime named by the setting <paramref name="key"/> when running locally:
    /// <c>Session</c> (Aspire's default, also when the setting is empty) removes the container when the AppHost stops;
    /// <c>Persistent</c> keeps it running between runs and re-creates it only when its configuration changes.
    /// </summary>
    public static IResourceBuilder<T> WithLifetimeSetting<T>(this IResourceBuilder<T> container, string key)
        where T : ContainerResource
    {
        var value = container.ApplicationBuilder.Configuration[key];
        if (!container.ApplicationBuilder.ExecutionContext.IsRunMode || string.IsNullOrWhiteSpace(value))
        {
            return container;
        }

        return Enum.TryParse<ContainerLifetime>(value, ignoreCase: true, out var lifetime) && Enum.IsDefined(lifetime)
            ? container.WithLifetime(lifetime)
            : throw new InvalidOperationException($"The AppHost setting '{key}' is '{value}'. It takes Session (the container is removed when the AppHost stops) or Persistent (it keeps running between runs).");
    }

    /// <summary>
    /// Points Processing at the repository's <c>data/</c> folder in run mode (for <c>POST /datasets/{name}/ingest</c> and the
    /// dashboard's <em>Load sample data</em>). A published Processing gets no data folder: its replicas share no disk, and
    /// uploads need none; an operator who mounts one sets <c>Processing__DataDir</c> (its default, <c>/data</c> in the image).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithDataFolderInRunMode(this IResourceBuilder<ProjectResource> processing, IDistributedApplicationBuilder builder) =>
        builder.ExecutionContext.IsRunMode
            ? processing.WithEnvironment("Processing__DataDir", Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "data")))
            : processing;

    /// <summary>
    /// In the published manifest, has the postgres container create <paramref name="database"/> on its first start
    /// (<c>POSTGRES_DB</c>, honoured by the official image's entrypoint), as <c>AddDatabase</c> does in run mode.
    /// </summary>
    public static IResourceBuilder<PostgresServerResource> WithPublishedDatabase(
        this IResourceBuilder<PostgresServerResource> postgres, IResourceBuilder<PostgresDatabaseResource> database) =>
        postgres.ApplicationBuilder.ExecutionContext.IsPublishMode
            ? postgres.WithEnvironment("POSTGRES_DB", database.Resource.DatabaseName)
            : postgres;

    /// <summary>
    /// Runs a project from its build output (<c>dotnet bin/&lt;configuration&gt;/&lt;tfm&gt;/Name.dll</c>) instead of
    /// Aspire's <c>dotnet run --no-build</c>, which evaluates the project with MSBuild on every start only to find
    /// that same file: 0.5 s of each replica's start here (1.4 s under load), the rest of Processing's start is 0.6 s.
    /// </summary>
    /// <remarks>
    /// The AppHost builds the project with itself (a <c>ProjectReference</c>), in its own configuration, so the output
    /// is current; a Debug and a Release build start equally fast. Run mode only; an IDE's debug session and
    /// <c>dotnet watch</c> keep Aspire's own launch, and so does an output that is not where the SDK's default layout
    /// puts it (an artifacts layout, a custom <c>OutputPath</c>).
    /// </remarks>
    public static IResourceBuilder<ProjectResource> RunFromBuildOutput(this IResourceBuilder<ProjectResource> project)
    {
        var configuration = project.ApplicationBuilder.Configuration;
        if (!project.ApplicationBuilder.ExecutionContext.IsRunMode
            || !string.IsNullOrEmpty(configuration["DEBUG_SESSION_PORT"])
            || configuration.GetValue<bool>("DOTNET_WATCH"))
        {
            return project;
        }

        var projectPath = project.Resource.GetProjectMetadata().ProjectPath;
        var projectDirectory = Path.GetDirectoryName(projectPath)!;
        // The AppHost's own build (not the entry assembly's: under Aspire.Hosting.Testing that is the test host), whose
        // configuration and TargetFramework (Directory.Build.props's, ".NETCoreApp,Version=v10.0" -> net10.0) it shares.
        var appHost = typeof(AppHostExtensions).Assembly;
        var buildConfiguration = appHost.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var targetFramework = "net" + new FrameworkName(appHost.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName).Version.ToString(2);
        var assembly = Path.Combine(projectDirectory, "bin", buildConfiguration, targetFramework, Path.GetFileNameWithoutExtension(projectPath) + ".dll");
        if (!File.Exists(assembly))
        {
            return project;
        }

        // Aspire runs a project annotated with a command as that command, in the project's folder as before (its
        // content root, where appsettings.json is read from), with the launch profile's settings it applies itself.
        return project
            .WithAnnotation(new ExecutableAnnotation { Command = "dotnet", WorkingDirectory = projectDirectory }, ResourceAnnotationMutationBehavior.Replace)
            .WithArgs(assembly);
    }

    /// <summary>
    /// Dashboard buttons on <c>processing</c> for the two things a developer does by hand most often.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithProcessingCommands(this IResourceBuilder<ProjectResource> processing, IResourceBuilder<ParameterResource> apiKey)
    {
        const string sampleIngestBody = """{"path":"samples/trips.csv","mode":"replace"}""";

        processing.WithHttpCommand(
            path: "/datasets/trips/ingest",
            displayName: "Load sample data",
            endpointName: "http",
            commandName: "load-sample-data",
            commandOptions: new HttpCommandOptions
            {
                Description = "Ingests data/samples/trips.csv as the dataset 'trips'.",
                ConfirmationMessage = "Replace the dataset 'trips' with data/samples/trips.csv?",
                IconName = "DatabaseArrowUp",
                ResultMode = HttpCommandResultMode.Auto,
                PrepareRequest = async context =>
                {
                    await AuthorizeAsync(context, apiKey);
                    context.Request.Content = new StringContent(sampleIngestBody, Encoding.UTF8, "application/json");
                },
            });

        return processing.WithHttpCommand(
            path: "/jobs/requeue-failed",
            displayName: "Re-queue failed jobs",
            endpointName: "http",
            commandName: "requeue-failed-jobs",
            commandOptions: new HttpCommandOptions
            {
                Description = "Puts every failed job back in the queue.",
                IconName = "ArrowClockwise",
                ResultMode = HttpCommandResultMode.Auto,
                PrepareRequest = context => AuthorizeAsync(context, apiKey),
            });
    }

    /// <summary>
    /// Builds a Dockerfile resource's image only when something it is built from changed, as <c>docker-compose up</c>
    /// does, instead of on every start (Aspire tags each build anew and runs <c>docker build</c> every time: 0.7-0.9 s
    /// on the jupyter container's way to healthy here, with nothing to rebuild).
    /// </summary>
    /// <remarks>
    /// Before the start the image gets a tag that is the <see cref="BuildContextDigest"/> of its context, Dockerfile,
    /// stage, build arguments and <paramref name="baseImage"/>'s id; when an image with that tag already exists,
    /// the container runs it without a build. Otherwise Aspire builds it as before, under that tag for the next start.
    /// When the base image is not there yet (the build pulls it), or a build argument is only known at start (a
    /// parameter), nothing changes. Run mode only.
    /// </remarks>
    /// <param name="container">A resource built from a Dockerfile.</param>
    /// <param name="baseImage">The image its build starts from (its id is part of the digest).</param>
    /// <param name="imageName">The image's name; copies of one resource share it, so they share their image. Default: the resource's name.</param>
    public static IResourceBuilder<ContainerResource> WithBuildOnlyWhenChanged(this IResourceBuilder<ContainerResource> container, ImageReference baseImage, string? imageName = null)
    {
        var builder = container.ApplicationBuilder;
        if (!builder.ExecutionContext.IsRunMode)
        {
            return container;
        }

        var runtime = ContainerRuntime.From(builder.Configuration);
        Task<string?> existingImage = Task.FromResult<string?>(null);
        builder.Eventing.Subscribe<BeforeStartEvent>(async (_, cancellationToken) =>
        {
            var build = container.Resource.Annotations.OfType<DockerfileBuildAnnotation>().Single();
            if (build.BuildArguments.Values.Any(value => value is not (string or null))
                || await ImageIdAsync(runtime, baseImage.ToString(), cancellationToken) is not { } baseImageId)
            {
                return;
            }

            var arguments = build.BuildArguments.Select(argument => KeyValuePair.Create(argument.Key, (string?)argument.Value ?? string.Empty));
            build.ImageName = imageName ?? build.ImageName ?? container.Resource.Name;
            build.ImageTag = BuildContextDigest.Compute(build.ContextPath, build.DockerfilePath, build.Stage, arguments, baseImageId);
            // Looked up while the orchestrator starts; the container needs the answer only when it is created.
            existingImage = ImageIdAsync(runtime, $"{build.ImageName}:{build.ImageTag}", cancellationToken);
        });

        return container.OnBeforeResourceStarted(async (resource, _, cancellationToken) =>
        {
            if (await existingImage.WaitAsync(cancellationToken) is not null
                && resource.Annotations.OfType<DockerfileBuildAnnotation>().SingleOrDefault() is { } build)
            {
                // The container runs the image of that digest as it would run a pulled one.
                resource.Annotations.Remove(build);
                var image = resource.Annotations.OfType<ContainerImageAnnotation>().Last();
                (image.Registry, image.Image, image.Tag) = (null, build.ImageName!, build.ImageTag);
            }
        });
    }

    /// <summary>
    /// Makes the dashboard link of the <c>http</c> endpoint open JupyterLab already logged in.
    /// </summary>
    public static IResourceBuilder<ContainerResource> WithJupyterLabUrl(this IResourceBuilder<ContainerResource> jupyter, IResourceBuilder<ParameterResource> token) =>
        jupyter.WithUrls(async context =>
        {
            // The token is resolved here, not when the model is built: it may only exist once parameters are processed.
            var value = await token.Resource.GetValueAsync(context.CancellationToken) ?? string.Empty;
            foreach (var url in context.Urls.Where(u => u.Endpoint?.EndpointName == "http"))
            {
                url.Url = new UriBuilder(url.Url) { Path = "/lab", Query = $"token={Uri.EscapeDataString(value)}" }.Uri.AbsoluteUri;
                url.DisplayText = "JupyterLab";
            }
        });

    /// <summary>
    /// Lets Python in a container trust the Aspire developer certificate, so its OTLP exporter reaches the
    /// dashboard over https.
    /// </summary>
    /// <remarks>
    /// Python cannot append to its trusted CAs, only replace them: the <c>System</c> scope makes Aspire write one
    /// bundle with the system roots plus the developer certificate (and set <c>SSL_CERT_FILE</c> to it); the
    /// OpenTelemetry exporter and <c>requests</c> each read their own variable. Applied in run mode only.
    /// </remarks>
    public static IResourceBuilder<ContainerResource> WithPythonCertificateTrust(this IResourceBuilder<ContainerResource> container) =>
        container
            .WithDeveloperCertificateTrust(true)
            .WithCertificateTrustScope(CertificateTrustScope.System)
            .WithCertificateTrustConfiguration(context =>
            {
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_CERTIFICATE"] = context.CertificateBundlePath;
                context.EnvironmentVariables["REQUESTS_CA_BUNDLE"] = context.CertificateBundlePath;
                return Task.CompletedTask;
            });

    /// <summary>The id of a local image, or null when the container runtime does not have it (or does not answer).</summary>
    private static async Task<string?> ImageIdAsync(ContainerRuntime runtime, string image, CancellationToken cancellationToken)
    {
        try
        {
            return await runtime.ImageIdAsync(image, cancellationToken);
        }
        catch (Exception exception) when (exception is Win32Exception or TimeoutException)
        {
            // No such runtime on PATH, or it hangs: the build runs as Aspire does, and reports the problem itself.
            return null;
        }
    }

    private static async Task AuthorizeAsync(HttpCommandRequestContext context, IResourceBuilder<ParameterResource> apiKey)
    {
        var key = await apiKey.Resource.GetValueAsync(context.CancellationToken);
        context.Request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }
}
