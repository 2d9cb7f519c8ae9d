using DataStack.AppHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

var builder = DistributedApplication.CreateBuilder(args);

// The console says when everything is healthy, and reports a resource that cannot start (no Docker, an image
// that cannot be pulled or built) with its last log lines; whatever waits for it stops waiting, so the failure
// shows in one place instead of as resources waiting for ever.
// Health checks answer as soon as a starting resource is ready, not at Aspire's next probe (up to 5 s later).
if (builder.ExecutionContext.IsRunMode)
{
    builder.Services.AddHostedService<StartupReporter>();
    builder.Services.AddHostedService<DeveloperCertificateWarning>();
    builder.Services.Configure<ResourceNotificationServiceOptions>(options => options.DefaultWaitBehavior = WaitBehavior.StopOnResourceUnavailable);
    builder.Services.PostConfigure<HealthCheckServiceOptions>(UntilReadyHealthCheck.WrapAll);
}

// Parameters: generated on the first run and persisted in this project's user secrets, so they stay stable
// across runs and are never committed.
var postgresPassword = builder.AddGeneratedSecret("postgres-password");
var apiKey = builder.AddGeneratedSecret("processing-api-key");
var jupyterToken = builder.AddGeneratedSecret("jupyter-token").ExcludeFromManifest();

// Images: pinned public defaults in appsettings.json; a mirror, a private registry or local images by setting.
var images = ImageSettings.From(builder.Configuration);

// Infrastructure
var postgres = builder.AddPostgres("postgres", password: postgresPassword)
    // Pinned so a package update never moves the data volume to a new major version; the image must be set
    // before WithDataVolume, which picks the data directory from its tag.
    .WithImage(images.Postgres)
    .WithDataVolume()
    // Persistent by default (Postgres:Lifetime): the container outlives the AppHost, so the next run finds the
    // database already accepting connections. The tests run it for their session only.
    .WithLifetimeSetting("Postgres:Lifetime");

if (builder.ExecutionContext.IsRunMode && images.PgWeb is { } pgWebImage)
{
    // A browser for the database while developing; it is never published. Images:PgWeb=none leaves it out.
    postgres.WithPgWeb(pgWeb => pgWeb.WithImage(pgWebImage));
}

var analytics = postgres.AddDatabase("analytics");

// AddDatabase creates the database in run mode only. A published postgres container is told to create it on its
// first start (Processing would otherwise create it itself: see docs/deployment.md).
postgres.WithPublishedDatabase(analytics);

// Services. The "aspire" launch profile gives processing port 5180; `dotnet run --project Processing` alone
// takes the first profile (5190), so the two never collide when run side by side.
var processing = builder.AddProject<Projects.Processing>("processing", launchProfileName: "aspire")
    .WithReference(analytics).WaitFor(analytics)
    .WithEnvironment("Processing__ApiKey", apiKey)
    .WithDataFolderInRunMode(builder)
    .WithReplicas(builder.Configuration.GetValue("Processing:Replicas", 1))
    .RunFromBuildOutput()
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithProcessingCommands(apiKey);

// Runners: the team's Python jobs (Jupyter/pipelines) in an image built from the notebook's Dockerfile, without the
// notebook server. They claim python jobs through Processing's API (docs/runners.md) and are published: the deploy
// image of the notebook's environment. Runner:Replicas copies while developing; how many run when deployed is the
// target's choice.
builder.AddRunners("runner", images, builder.Configuration.GetValue("Runner:Replicas", 1), runner => runner
    .WithReference(analytics)
    // Its http endpoint only: runners call Processing inside the deployment's network, where no https endpoint is declared.
    .WithReference(processing.GetEndpoint("http"))
    .WithEnvironment("DATASTACK_API_KEY", apiKey)
    .WithOtlpExporter()
    .WithPythonCertificateTrust());

// Tools: Jupyter is for development only. It stays in the model so it can be inspected, but it is excluded
// from the manifest, with its token: a published DataStack is postgres + processing + runner.
// It waits for nothing: its server needs neither processing nor the database to start (the package connects when a
// cell runs), so its container, and the tunnel DCP builds for it to reach processing and the dashboard on the
// host, start together with postgres instead of after processing is healthy.
builder.AddDockerfile("jupyter", "../Jupyter", stage: "jupyter")
    .WithBuildArg("BASE_IMAGE", images.JupyterBase.ToString())
    .WithBuildArg("PIP_INDEX_URL", images.JupyterPipIndexUrl)
    .WithBuildOnlyWhenChanged(images.JupyterBase)
    .WithHttpEndpoint(targetPort: 8888, name: "http")
    .WithJupyterLabUrl(jupyterToken)
    .WithBindMount("../Jupyter/notebooks", "/home/jovyan/work/notebooks")
    // The pipelines the runners run, editable from JupyterLab and importable in a notebook (`from pipelines import daily`).
    .WithBindMount("../Jupyter/pipelines", "/home/jovyan/work/pipelines")
    .WithEnvironment("PYTHONPATH", "/home/jovyan/work")
    .WithBindMount("../data", "/data")
    .WithReference(analytics)
    .WithReference(processing)
    .WithEnvironment("DATASTACK_API_KEY", apiKey)
    .WithEnvironment("JUPYTER_TOKEN", jupyterToken)
    .WithOtlpExporter()
    .WithPythonCertificateTrust()
    .WithHttpHealthCheck("/api")
    .ExcludeFromManifest();

builder.Build().Run();
