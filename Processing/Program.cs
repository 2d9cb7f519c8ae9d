using DataStack.Processing;
using DataStack.Processing.Api;
using DataStack.Processing.Database;
using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest;
using DataStack.Processing.Jobs;
using DataStack.Processing.Profiles;
using DataStack.Processing.PythonJobs;
using DataStack.Processing.Telemetry;
using DataStack.Processing.Transforms;
using DataStack.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

// Required settings first: a missing one is one line on stderr and exit code 78, not a stack trace.
if (StartupSettings.Missing(builder.Configuration) is { Count: > 0 } missing)
{
    foreach (var line in missing)
    {
        Console.Error.WriteLine(line);
    }

    return StartupSettings.MissingSettingExitCode;
}

builder.AddServiceDefaults();
builder.Services.AddProcessingTelemetry();
builder.AddAnalyticsDataSource();

// The queue, then the features that register their job kinds with it, then the HTTP wing that calls them.
builder.Services.AddJobQueue();
builder.Services.AddDatasets();
builder.Services.AddIngest();
builder.Services.AddProfiles();
builder.Services.AddTransforms();
builder.Services.AddPythonJobs();
builder.Services.AddProcessingApi();

await using var app = builder.Build();
app.UseProcessingApi();
app.MapDefaultEndpoints();
app.MapProcessingApi();

// Start-up failures an operator must fix are one line on stderr and a documented exit code, never a stack trace:
// the database comes first (created when missing, migrated once across replicas), then the host.
try
{
    await app.Services.GetRequiredService<Migrator>().StartAsync(app.Lifetime.ApplicationStopping);
    await app.StartAsync();
}
catch (Exception exception)
{
    var failure = StartupFailure.Describe(exception);
    Console.Error.WriteLine(failure.Line);
    return failure.ExitCode;
}

await app.WaitForShutdownAsync();
return 0;
