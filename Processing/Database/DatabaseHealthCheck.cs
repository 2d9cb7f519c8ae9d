using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace DataStack.Processing.Database;

/// <summary>Ready when the database answers and the migrations are applied. Says nothing more than that.</summary>
public sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource, MigrationState migrations) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!migrations.IsApplied)
        {
            return HealthCheckResult.Unhealthy("Migrations not applied yet.");
        }

        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (NpgsqlException)
        {
            return HealthCheckResult.Unhealthy("Database not reachable.");
        }
    }
}
