using System.Net;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

/// <summary>Every 415 says which content types the route accepts.</summary>
public sealed class UnsupportedMediaTypeTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Fact]
    public async Task AnUploadAsFormDataListsTheAcceptedTypes()
    {
        // Arrange: what curl --data-binary sends without -H "Content-Type: ...".
        using var content = new StringContent("a\n1\n", Encoding.UTF8, "application/x-www-form-urlencoded");

        // Act
        using var response = await app.Client.PutAsync($"/datasets/{TestDatasets.NewName("mt")}", content);

        // Assert
        var detail = await DetailOf(response);
        Assert.Contains("text/csv", detail, StringComparison.Ordinal);
        Assert.Contains("application/vnd.datastack.columns", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/datasets/{0}/ingest")]
    [InlineData("/datasets/{0}/transform")]
    [InlineData("/jobs")]
    public async Task AJsonRouteGivenAnotherTypeSaysItWantsJson(string route)
    {
        // Arrange
        using var content = new StringContent("""{ "path": "x.csv" }""", Encoding.UTF8, "text/plain");

        // Act
        using var response = await app.Client.PostAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, route, TestDatasets.NewName("mt")), content);

        // Assert
        var detail = await DetailOf(response);
        Assert.Contains("'Content-Type: application/json'", detail, StringComparison.Ordinal);
        Assert.Contains("text/plain", detail, StringComparison.Ordinal);
    }

    private static async Task<string> DetailOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("detail").GetString() ?? "";
    }
}
