using System.Net;
using System.Net.Http.Headers;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

public sealed class AuthTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Theory]
    [InlineData("/datasets")]
    [InlineData("/jobs")]
    public async Task RoutesRequireTheBearerKey(string path)
    {
        // Arrange
        using var anonymous = app.CreateClient();

        // Act
        using var response = await anonymous.GetAsync(path);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task AWrongKeyIsRefused()
    {
        // Arrange
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", app.ApiKey + "x");

        // Act
        using var response = await client.GetAsync("/datasets");

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/openapi/v1.json")]
    public async Task HealthAndOpenApiNeedNoKey(string path)
    {
        // Arrange
        using var anonymous = app.CreateClient();

        // Act
        using var response = await anonymous.GetAsync(path);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
