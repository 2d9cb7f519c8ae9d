using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DataStack.Processing.Database;

/// <summary>
/// Ready only once the migrations are applied. Whether the database answers at all is Aspire.Npgsql's
/// <c>PostgreSql</c> check; this is the part it cannot know. Says nothing more than that.
/// </summary>
public sealed class MigrationsHealthCheck(MigrationState migrations) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(migrations.IsApplied ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Migrations not applied yet."));
}
