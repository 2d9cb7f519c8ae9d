using System.Text.Json;
using DataStack.Processing.Api;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DataStack.Processing.Tests;

/// <summary><c>/openapi/v1.json</c> describes the routes Processing really maps, with the answers they really give.</summary>
public sealed class OpenApiContractTests(ProcessingApp app) : IClassFixture<ProcessingApp>, IDisposable
{
    private readonly JsonDocument _document = JsonDocument.Parse(app.CreateClient().GetStringAsync("/openapi/v1.json").GetAwaiter().GetResult());

    public void Dispose() => _document.Dispose();

    private JsonElement Paths => _document.RootElement.GetProperty("paths");

    [Fact]
    public void TheDocumentHasExactlyTheMappedRoutes()
    {
        // Arrange: every route handler Processing maps, but those left out of the description on purpose.
        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.Metadata.GetMetadata<System.Reflection.MethodInfo>() is not null)
            .Where(endpoint => endpoint.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .SelectMany(endpoint => endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods
                .Select(method => $"{method} {DocumentPath(endpoint.RoutePattern.RawText!)}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        // Act
        var documented = Operations().Select(o => $"{o.Method} {o.Path}").Order(StringComparer.Ordinal).ToList();

        // Assert
        Assert.NotEmpty(mapped);
        Assert.Equal(mapped, documented);
    }

    [Fact]
    public void EveryOperationNeedsTheBearerKeyAndSaysSo()
    {
        // Arrange
        var scheme = _document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");

        // Assert
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.All(Operations(), o =>
        {
            Assert.True(o.Operation.GetProperty("security")[0].TryGetProperty("Bearer", out _), $"{o.Method} {o.Path}");
            Assert.True(o.Responses.ContainsKey("401"), $"{o.Method} {o.Path} has no 401");
            Assert.True(o.Responses.ContainsKey("503"), $"{o.Method} {o.Path} has no 503");
        });
    }

    [Theory]
    [InlineData("GET /datasets/{name}", "200 400 404")]
    [InlineData("DELETE /datasets/{name}", "204 400 404")]
    [InlineData("PUT /datasets/{name}", "200 202 400 409 413 415")]
    [InlineData("POST /datasets/{name}/ingest", "200 202 400 409 415 422")]
    [InlineData("POST /datasets/{name}/profile", "200 202 400 404")]
    [InlineData("POST /datasets/{name}/transform", "200 202 400 415")]
    [InlineData("GET /datasets/{name}/rows", "200 400 404")]
    [InlineData("POST /jobs", "200 202 400 415")]
    [InlineData("GET /jobs/{id}", "200 404")]
    [InlineData("GET /jobs/{id}/wait", "200 400 404")]
    [InlineData("POST /jobs/{id}/cancel", "200 404")]
    public void OperationsListTheirAnswers(string operation, string statuses)
    {
        // Act
        var found = Operations().Single(o => $"{o.Method} {o.Path}" == operation);

        // Assert
        Assert.All(statuses.Split(' '), status => Assert.True(found.Responses.ContainsKey(status), $"{operation} lacks {status}"));
    }

    [Theory]
    [InlineData("PUT /datasets/{name}", true)]
    [InlineData("POST /datasets/{name}/ingest", true)]
    [InlineData("POST /datasets/{name}/profile", true)]
    [InlineData("POST /datasets/{name}/transform", true)]
    [InlineData("GET /datasets/{name}", false)]
    public void SubmittingRoutesDeclareTheIdempotencyKeyHeader(string operation, bool expected)
    {
        // Act
        var found = Operations().Single(o => $"{o.Method} {o.Path}" == operation);
        var header = Parameters(found.Operation).Where(p => p.GetProperty("in").GetString() == "header" && p.GetProperty("name").GetString() == JobSubmission.IdempotencyKeyHeader);

        // Assert
        Assert.Equal(expected, header.Any());
    }

    [Theory]
    [InlineData("GET /datasets/{name}/rows", "limit", DatasetRows.MaxLimit)]
    [InlineData("GET /jobs/{id}/wait", "timeout", JobEndpoints.MaxWaitSeconds)]
    [InlineData("GET /jobs", "limit", 1000)]
    public void LimitsAreInTheDocument(string operation, string parameter, int maximum)
    {
        // Act
        var found = Operations().Single(o => $"{o.Method} {o.Path}" == operation);
        var schema = Parameters(found.Operation).Single(p => p.GetProperty("name").GetString() == parameter).GetProperty("schema");

        // Assert
        Assert.Equal(maximum, decimal.Parse(schema.GetProperty("maximum").ToString(), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Route pattern → OpenAPI path: constraints go (<c>{id:guid}</c> → <c>{id}</c>), no trailing slash.</summary>
    private static string DocumentPath(string pattern)
    {
        var path = System.Text.RegularExpressions.Regex.Replace(pattern, @"\{(\w+):[^}]+\}", "{$1}");
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    private static IEnumerable<JsonElement> Parameters(JsonElement operation) =>
        operation.TryGetProperty("parameters", out var parameters) ? parameters.EnumerateArray() : [];

    private List<(string Method, string Path, JsonElement Operation, Dictionary<string, JsonElement> Responses)> Operations() =>
        [.. Paths.EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Where(o => o.Name is "get" or "put" or "post" or "delete" or "patch")
            .Select(o => (o.Name.ToUpperInvariant(), path.Name, o.Value,
                o.Value.GetProperty("responses").EnumerateObject().ToDictionary(r => r.Name, r => r.Value))))];
}
