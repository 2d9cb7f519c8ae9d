using Microsoft.AspNetCore.Connections;
using Npgsql;

namespace DataStack.Processing.Api;

/// <summary>The HTTP wing: everything between a request and the features it calls.</summary>
public static class ApiServiceCollectionExtensions
{
    /// <summary>The API key, problem details, the OpenAPI document, and Kestrel's large read blocks.</summary>
    public static IServiceCollection AddProcessingApi(this IServiceCollection services)
    {
        services.AddOptions<ApiOptions>()
            .BindConfiguration(ApiOptions.SectionName)
            .Validate(options => !string.IsNullOrWhiteSpace(options.ApiKey) || options.AllowAnonymous, ApiOptions.MissingApiKey)
            .ValidateOnStart();

        // Kestrel reads sockets into 64 KiB blocks, not 4 KiB ones: a large upload body in a sixteenth of the reads.
        services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        services.AddApiKeyAuthentication();
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            UnsupportedMediaTypeHint.Apply(context);
            if (context.Exception is { } exception && IsDatabaseUnavailable(exception))
            {
                // Retryable, and said so; the exception's own text (host names, pool state) stays in the logs.
                context.ProblemDetails.Detail = "The analytics database cannot be reached right now (down, restarting, or out of connections). Try again shortly.";
                context.HttpContext.Response.Headers.RetryAfter = "5";
            }
        });
        return services.AddOpenApi(ProcessingOpenApi.Configure);
    }

    /// <summary>Errors as problem details (a database that is down: 503), then the API key on every route that does not opt out.</summary>
    public static WebApplication UseProcessingApi(this WebApplication app)
    {
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
        return app;
    }

    /// <summary>The OpenAPI document (no key) and the routes of <c>/datasets</c>, <c>/jobs</c> and <c>/runners</c>.</summary>
    public static WebApplication MapProcessingApi(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();
        app.MapDatasetEndpoints();
        app.MapJobEndpoints();
        app.MapRunnerEndpoints();
        return app;
    }

    // Npgsql's transient failures: connection refused or broken, server shutting down or starting, too many clients, pool exhausted.
    private static bool IsDatabaseUnavailable(Exception exception) => exception is NpgsqlException { IsTransient: true };
}
