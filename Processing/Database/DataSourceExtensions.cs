namespace DataStack.Processing.Database;

public static class DataSourceExtensions
{
    /// <summary>The connection string name of the wiring contract (<c>ConnectionStrings__analytics</c>).</summary>
    public const string ConnectionName = "analytics";

    /// <summary>
    /// Registers the <see cref="Npgsql.NpgsqlDataSource"/> of the <c>analytics</c> database through Aspire's client
    /// integration (Aspire.Npgsql: pooling, the <c>PostgreSql</c> health check, Npgsql's tracing and metrics, logging
    /// through the host's loggers), and what the integration does not do: the schema migrations, the readiness check
    /// that they ran, and a start-up error naming the contract's variable when the connection string is missing.
    /// </summary>
    public static TBuilder AddAnalyticsDataSource<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.AddNpgsqlDataSource(
            ConnectionName,
            settings =>
            {
                // The integration would only fail when the data source is first resolved, after the host started.
                if (string.IsNullOrWhiteSpace(settings.ConnectionString))
                {
                    throw new InvalidOperationException(
                        $"No connection string '{ConnectionName}'. Set ConnectionStrings__{ConnectionName} " +
                        "(the AppHost injects it from the 'analytics' database resource).");
                }
            },
            dataSource =>
            {
                // Npgsql names the pool in its metrics after the data source; without a name it would use the connection string.
                dataSource.Name = ConnectionName;
                dataSource.ConnectionStringBuilder.ApplicationName ??= "datastack-processing";
            });

        builder.Services.AddSingleton<MigrationState>();
        builder.Services.AddHostedService<Migrator>();
        builder.Services.AddHealthChecks().AddCheck<MigrationsHealthCheck>("migrations");
        return builder;
    }
}
