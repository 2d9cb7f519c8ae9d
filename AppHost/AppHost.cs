using DataStack.AppHost;
using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);

// Parameters: generated on the first run and persisted in this project's user secrets, so they stay stable
// across runs and are never committed.
var postgresPassword = builder.AddGeneratedSecret("postgres-password");
var apiKey = builder.AddGeneratedSecret("processing-api-key");
var jupyterToken = builder.AddGeneratedSecret("jupyter-token");

// Infrastructure
var postgres = builder.AddPostgres("postgres", password: postgresPassword)
    // Pinned so a package update never moves the data volume to a new major version; the tag must come
    // before WithDataVolume, which picks the data directory from it.
    .WithImageTag("17.6")
    .WithDataVolume();

if (builder.ExecutionContext.IsRunMode)
{
    // A browser for the database while developing; it is never published.
    postgres.WithPgWeb();
}

var analytics = postgres.AddDatabase("analytics");

// Services. The "aspire" launch profile gives processing port 5180; `dotnet run --project Processing` alone
// takes the first profile (5190), so the two never collide when run side by side.
var processing = builder.AddProject<Projects.Processing>("processing", launchProfileName: "aspire")
    .WithReference(analytics).WaitFor(analytics)
    .WithEnvironment("Processing__ApiKey", apiKey)
    .WithEnvironment("Processing__DataDir", builder.ProcessingDataDirectory())
    .WithReplicas(builder.Configuration.GetValue("Processing:Replicas", 1))
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithProcessingCommands(apiKey);

// Tools: Jupyter is for development only. It stays in the model so it can be inspected, but it is excluded
// from the manifest and from Docker Compose: a published DataStack is postgres + processing.
builder.AddDockerfile("jupyter", "../Jupyter")
    .WithHttpEndpoint(targetPort: 8888, name: "http")
    .WithJupyterLabUrl(jupyterToken)
    .WithBindMount("../Jupyter/notebooks", "/home/jovyan/work/notebooks")
    .WithBindMount("../data", "/data")
    .WithReference(analytics)
    .WithReference(processing).WaitFor(processing)
    .WithEnvironment("DATASTACK_API_KEY", apiKey)
    .WithEnvironment("JUPYTER_TOKEN", jupyterToken)
    .WithOtlpExporter()
    .WithPythonCertificateTrust()
    .WithHttpHealthCheck("/api")
    .ExcludeFromManifest();

// Publishing: `aspire publish` writes a Docker Compose file for every resource not excluded above.
builder.AddDockerComposeEnvironment("compose");

builder.Build().Run();
