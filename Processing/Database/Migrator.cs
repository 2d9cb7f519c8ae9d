using Npgsql;

namespace DataStack.Processing.Database;

/// <summary>
/// Applies the embedded SQL migrations once, under a PostgreSQL advisory lock, so any number of replicas
/// can start at the same time. Runs during host start-up: the service listens only once the schema is there.
/// A database that does not exist yet is created first (<see cref="DatabaseCreator"/>); a database that cannot be
/// reached is waited for; anything an operator must fix stops the start with <see cref="StartupFailedException"/>.
/// </summary>
public sealed partial class Migrator(
    NpgsqlDataSource dataSource, DatabaseCreator creator, MigrationState state, ILogger<Migrator> logger) : IHostedService
{
    // An arbitrary constant shared by every replica: "DSTK" in ASCII.
    private const long AdvisoryLockKey = 0x4453544B;

    /// <summary>
    /// Creates (when missing) and migrates the database; waits while it cannot be reached. Done once: Program runs it
    /// before the host starts, so a failure an operator must fix is one line and an exit code rather than the host's
    /// "failed to start" and a stack trace; as a hosted service it then finds nothing left to do.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (state.IsApplied)
        {
            return;
        }

        var delay = TimeSpan.FromMilliseconds(250);
        var create = false;
        while (true)
        {
            try
            {
                if (create)
                {
                    // Inside the try, so a server that restarts while the database is created is waited for too.
                    await creator.CreateAsync(cancellationToken);
                    create = false;
                }

                await MigrateAsync(cancellationToken);
                state.MarkApplied();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
            {
                // A new deployment: nobody made the database (a managed server, or a postgres container given none).
                create = true;
            }
            catch (NpgsqlException ex) when (ex is not PostgresException || ex.IsTransient)
            {
                // The database may still be starting (or restarting); wait for it rather than crash-loop.
                Log.DatabaseUnavailable(logger, delay.TotalSeconds, ex.Message);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            catch (PostgresException ex)
            {
                throw DatabaseCreator.Refused(ex, dataSource, "could not prepare its schema");
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(
                connection,
                """
                CREATE SCHEMA IF NOT EXISTS datastack;
                CREATE TABLE IF NOT EXISTS datastack.schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                );
                """,
                cancellationToken);

            var applied = new HashSet<int>();
            await using (var command = new NpgsqlCommand("SELECT version FROM datastack.schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            foreach (var migration in LoadMigrations().Where(m => !applied.Contains(m.Version)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, migration.Sql, cancellationToken);
                await using (var record = new NpgsqlCommand(
                    "INSERT INTO datastack.schema_migrations (version, name) VALUES ($1, $2)", connection))
                {
                    record.Parameters.Add(new() { Value = migration.Version });
                    record.Parameters.Add(new() { Value = migration.Name });
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                Log.MigrationApplied(logger, migration.Version, migration.Name);
            }
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static IEnumerable<(int Version, string Name, string Sql)> LoadMigrations()
    {
        var assembly = typeof(Migrator).Assembly;
        const string Prefix = "DataStack.Processing.Database.Migrations.";
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var name = resource[Prefix.Length..^".sql".Length];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_')), System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return (version, name, reader.ReadToEnd());
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied migration {Version} ({Name})")]
        public static partial void MigrationApplied(ILogger logger, int version, string name);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Database not reachable yet, retrying in {DelaySeconds}s: {Reason}")]
        public static partial void DatabaseUnavailable(ILogger logger, double delaySeconds, string reason);
    }
}
