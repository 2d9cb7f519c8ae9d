using System.Net;
using DataStack.Processing.Tests.Infrastructure;
using Npgsql;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary><c>/health</c> and <c>/alive</c> answer anyone, in every environment, with the status word and nothing else.</summary>
public sealed class HealthEndpointTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task ProbeAnswersHealthyAsPlainStatusTextWithoutAKey(string path)
    {
        // Arrange
        using var anonymous = TestClients.Create(app.Client.BaseAddress!, apiKey: null);

        // Act
        using var response = await anonymous.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Healthy", body);
    }

    [Fact]
    public async Task UnreachableDatabaseMakesHealthUnhealthyWithoutSayingWhyWhileAliveStaysHealthy()
    {
        // Arrange
        await using var broken = new ProcessingApp();
        await broken.InitializeAsync();
        using var anonymous = TestClients.Create(broken.Client.BaseAddress!, apiKey: null);
        var role = new NpgsqlConnectionStringBuilder(broken.ConnectionString).Username!;
        var password = new NpgsqlConnectionStringBuilder(broken.ConnectionString).Password!;
        using (var ready = await anonymous.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // Act: the service's credentials stop working and its open connections are cut.
        await Sql.ExecuteAsync(broken.Postgres.AdminConnectionString, $"ALTER ROLE \"{role}\" PASSWORD 'changed-{Guid.NewGuid():N}'");
        await Sql.ExecuteAsync(
            broken.Postgres.AdminConnectionString, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
        var status = HttpStatusCode.OK;
        var body = "";
        await Poll.UntilAsync(
            async () =>
            {
                using var response = await anonymous.GetAsync("/health");
                status = response.StatusCode;
                body = await response.Content.ReadAsStringAsync();
                return status == HttpStatusCode.ServiceUnavailable;
            },
            TimeSpan.FromSeconds(30),
            "/health to report the database as unreachable");
        using var alive = await anonymous.GetAsync("/alive");

        // Assert
        Assert.Equal("Unhealthy", body);
        Assert.DoesNotContain(password, body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.Equal("Healthy", await alive.Content.ReadAsStringAsync());
    }
}
