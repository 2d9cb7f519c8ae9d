using DataStack.Processing.Jobs;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace DataStack.Processing.Api;

/// <summary>
/// The parts of the HTTP contract the endpoints cannot say themselves, added to <c>/openapi/v1.json</c> so a client
/// generator sees the real API: the bearer scheme, the 401 and 503 every route can answer, and the
/// <c>Idempotency-Key</c> header of the submitting routes. Route-specific answers (404, 409, 413, 415, 422) are
/// declared where the routes are mapped.
/// </summary>
public static class ProcessingOpenApi
{
    public const string SecuritySchemeName = "Bearer";

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The API key Processing was given as Processing__ApiKey (the AppHost's processing-api-key parameter).",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var problem = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken);
            operation.Responses ??= [];
            if (!metadata.OfType<IAllowAnonymous>().Any())
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, context.Document)] = [] });
                operation.Responses.TryAdd("401", Problem("The bearer key is missing or wrong (WWW-Authenticate: Bearer).", problem));
            }

            operation.Responses.TryAdd("503", Problem("The database is down, restarting or out of connections; retry after the Retry-After seconds.", problem));
            if (metadata.OfType<AcceptsIdempotencyKey>().Any())
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = JobSubmission.IdempotencyKeyHeader,
                    In = ParameterLocation.Header,
                    Description = "Makes the submission safe to retry: a second request with the same key returns the first job (200) instead of queuing another.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = JobSubmitter.MaxIdempotencyKeyLength },
                });
            }
        });
    }

    private static OpenApiResponse Problem(string description, OpenApiSchema schema) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = schema } },
    };
}
