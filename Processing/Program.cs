using DataStack.Processing;
using DataStack.Processing.Auth;
using DataStack.Processing.Database;
using DataStack.Processing.Datasets;
using DataStack.Processing.Http;
using DataStack.Processing.Jobs;
using DataStack.Processing.OpenApi;
using DataStack.Processing.Telemetry;
using DataStack.ServiceDefaults;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Npgsql;

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

// Kestrel reads sockets into 64 KiB blocks, not 4 KiB ones: a large upload body in a sixteenth of the reads.
builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();

builder.Services.AddOptions<ProcessingOptions>()
    .BindConfiguration(ProcessingOptions.SectionName)
    .ValidateDataAnnotations()
    .Validate(
        options => !string.IsNullOrWhiteSpace(options.ApiKey) || options.AllowAnonymous,
        StartupSettings.MissingApiKey)
    .ValidateOnStart();

// Let running jobs use their grace period on shutdown before the host gives up on them.
builder.Services.AddOptions<HostOptions>()
    .Configure<IOptions<ProcessingOptions>>((host, processing) =>
        host.ShutdownTimeout = TimeSpan.FromSeconds(processing.Value.ShutdownGraceSeconds + 15));

builder.AddAnalyticsDataSource();
builder.Services.AddProcessingJobs();
builder.Services.AddApiKeyAuthentication();
builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
{
    UnsupportedMediaTypeHint.Apply(context);
    if (context.Exception is { } exception && IsDatabaseUnavailable(exception))
    {
        // Retryable, and said so; the exception's own text (host names, pool state) stays in the logs.
        context.ProblemDetails.Detail = "The analytics database cannot be reached right now (down, restarting, or out of connections). Try again shortly.";
        context.HttpContext.Response.Headers.RetryAfter = "5";
    }
});
builder.Services.AddOpenApi(ProcessingOpenApi.Configure);

await using var app = builder.Build();

app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // Malformed JSON, oversized bodies and the like are the client's problem (400, 413), not a 500; a
    // database that is down or out of connections is a 503 the client may retry.
    StatusCodeSelector = exception => exception switch
    {
        BadHttpRequestException badRequest => badRequest.StatusCode,
        _ when IsDatabaseUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    },
});
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();

app.MapOpenApi().AllowAnonymous();
app.MapDefaultEndpoints();
app.MapDatasetEndpoints();
app.MapJobEndpoints();

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

// Npgsql's transient failures: connection refused or broken, server shutting down or starting, too many clients, pool exhausted.
static bool IsDatabaseUnavailable(Exception exception) => exception is NpgsqlException { IsTransient: true };
