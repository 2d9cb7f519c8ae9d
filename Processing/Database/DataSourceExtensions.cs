using Npgsql;

namespace DataStack.Processing.Database;

public static class DataSourceExtensions
{
    /// <summary>The connection string name of the wiring contract (<c>ConnectionStrings__analytics</c>).</summary>
    public const string ConnectionName = "analytics";

    /// <summary>
    /// Registers one <see cref="NpgsqlDataSource"/> for the <c>analytics</c> database, with Npgsql's own
    /// tracing and metrics (ActivitySource and Meter "Npgsql") and logging through the host's loggers.
    /// </summary>
    public static IServiceCollection AddAnalyticsDataSource(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"No connection string '{ConnectionName}'. Set ConnectionStrings__{ConnectionName} " +
                "(the AppHost injects it from the 'analytics' database resource).");
        }

        services.AddSingleton(provider =>
        {
            var builder = new NpgsqlDataSourceBuilder(connectionString)
            {
                Name = ConnectionName,
            };
            builder.ConnectionStringBuilder.ApplicationName ??= "datastack-processing";
            builder.UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>());
            return builder.Build();
        });
        services.AddSingleton<MigrationState>();
        services.AddHostedService<Migrator>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        return services;
    }
}
