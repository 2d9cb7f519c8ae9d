using System.Data.Common;
using Npgsql;

namespace DataStack.Processing.Database;

public static class DataSourceExtensions
{
    /// <summary>The connection string name of the wiring contract (<c>ConnectionStrings__analytics</c>).</summary>
    public const string ConnectionName = "analytics";

    /// <summary>
    /// Npgsql's write buffer, unless the connection string sets one: 128 KiB, not 8 KiB. An ingest's binary COPY
    /// goes out through it, so a large buffer means far fewer sends and less of Processing's time in the kernel
    /// (docs/benchmarks.md, item 22). It costs 128 KiB per pooled connection.
    /// </summary>
    public const int WriteBufferSize = 128 * 1024;

    /// <summary>
    /// Processing's defaults for what the connection string leaves unsaid: the write buffer above, and no GSSAPI
    /// (Kerberos) encryption, which Npgsql otherwise tries first: on images without the Kerberos library (the .NET
    /// runtime-deps images have none) every start printed "Cannot load library libgssapi_krb5.so.2" on stderr.
    /// </summary>
    public static void ApplyDefaults(NpgsqlConnectionStringBuilder builder)
    {
        // Npgsql's own ContainsKey is true for any keyword it knows; what was set is in the string it writes.
        var given = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        if (!given.ContainsKey("Write Buffer Size"))
        {
            builder.WriteBufferSize = WriteBufferSize;
        }

        if (!given.ContainsKey("GSS Encryption Mode") && !given.ContainsKey("GssEncryptionMode"))
        {
            builder.GssEncryptionMode = GssEncryptionMode.Disable;
        }
    }

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
                ApplyDefaults(dataSource.ConnectionStringBuilder);
            });

        builder.Services.AddSingleton<MigrationState>();
        builder.Services.AddSingleton<DatabaseCreator>();
        builder.Services.AddSingleton<Migrator>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<Migrator>());
        builder.Services.AddHealthChecks().AddCheck<MigrationsHealthCheck>("migrations");
        return builder;
    }
}
