using System.Net.Http.Headers;
using System.Text;

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

    private static async Task AuthorizeAsync(HttpCommandRequestContext context, IResourceBuilder<ParameterResource> apiKey)
    {
        var key = await apiKey.Resource.GetValueAsync(context.CancellationToken);
        context.Request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }
}
