using System.Net;
using DataStack.Processing.Tests.Infrastructure;
using Npgsql;

namespace DataStack.Processing.Tests;

/// <summary>A database that refuses connections is a 503 the client may retry, not a 500.</summary>
public sealed class DatabaseUnavailableTests
{
    [Fact]
    public async Task ApiCallsAnswer503WithRetryAfterWhileTheDatabaseRefusesConnectionsThenRecover()
    {
        // Arrange: an app of its own whose role may no longer connect ("too many connections for role").
        await using var app = new ProcessingApp();
        await app.InitializeAsync();
        var role = new NpgsqlConnectionStringBuilder(app.ConnectionString).Username!;
        await Sql.ExecuteAsync(app.Postgres.AdminConnectionString, $"ALTER ROLE \"{role}\" CONNECTION LIMIT 0");
        await Sql.ExecuteAsync(app.Postgres.AdminConnectionString, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");

        // Act
        using var refused = await app.Client.GetAsync("/datasets");
        var body = await refused.Content.ReadAsStringAsync();
        await Sql.ExecuteAsync(app.Postgres.AdminConnectionString, $"ALTER ROLE \"{role}\" CONNECTION LIMIT -1");
        var recovered = HttpStatusCode.ServiceUnavailable;
        await Poll.UntilAsync(
            async () =>
            {
                // Pooled connections cut above may still surface once each; the service must get past them alone.
                using var response = await app.Client.GetAsync("/datasets");
                recovered = response.StatusCode;
                return recovered != HttpStatusCode.ServiceUnavailable;
            },
            TimeSpan.FromSeconds(30),
            "GET /datasets to stop answering 503 once connections are allowed again");

        // Assert
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("5", refused.Headers.RetryAfter?.ToString());
        Assert.Contains("cannot be reached right now", body, StringComparison.Ordinal);
        Assert.DoesNotContain(role, body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, recovered);
    }
}
