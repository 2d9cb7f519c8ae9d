using Npgsql;

namespace DataStack.Processing.Database;

/// <summary>
/// Creates the <c>analytics</c> database (the one the connection string names) when it does not exist, as the
/// connecting role, through the server's maintenance database. In a deployment nothing else makes it: Aspire's
/// <c>AddDatabase</c> creates it in run mode only. A role without <c>CREATEDB</c> (usual on a managed server) stops
/// the start with one line saying what an administrator must run.
/// </summary>
public sealed partial class DatabaseCreator(IConfiguration configuration, ILogger<DatabaseCreator> logger)
{
    /// <summary>Where a new database is created from: <c>postgres</c>, or <c>template1</c> on a server without it.</summary>
    private static readonly string[] s_maintenanceDatabases = ["postgres", "template1"];

    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString(DataSourceExtensions.ConnectionName));
        var database = target.Database ?? throw new StartupFailedException(
            $"ConnectionStrings__{DataSourceExtensions.ConnectionName} names no database (Database=...).");
        foreach (var maintenance in s_maintenanceDatabases)
        {
            var builder = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = maintenance, Pooling = false };
            DataSourceExtensions.ApplyDefaults(builder);
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand($"CREATE DATABASE {SqlIdentifier.Quote(database)}", connection);
                await command.ExecuteNonQueryAsync(cancellationToken);
                Log.DatabaseCreated(logger, database, target.Username ?? "(default)");
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                return; // Another replica made it first.
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName && maintenance != s_maintenanceDatabases[^1])
            {
                // No 'postgres' database on this server: try the next.
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                throw new StartupFailedException(
                    $"Database '{database}' does not exist on {target.Host}:{target.Port}, and role '{target.Username}' may not create it. " +
                    $"Create it once as an administrator (CREATE DATABASE \"{database}\" OWNER \"{target.Username}\"), or grant the role CREATEDB.",
                    inner: ex);
            }
            catch (PostgresException ex) when (!ex.IsTransient)
            {
                throw Refused(ex, target, $"could not create database '{database}'");
            }
        }
    }

    /// <summary>One line for a non-transient answer of the server at start-up: credentials, permissions, a broken server.</summary>
    internal static StartupFailedException Refused(PostgresException ex, NpgsqlDataSource dataSource, string doing) =>
        Refused(ex, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString), doing);

    private static StartupFailedException Refused(PostgresException ex, NpgsqlConnectionStringBuilder target, string doing)
    {
        var hint = ex.SqlState switch
        {
            PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification =>
                $" Check the user name and password in ConnectionStrings__{DataSourceExtensions.ConnectionName}.",
            PostgresErrorCodes.InsufficientPrivilege =>
                $" Role '{target.Username}' needs to own database '{target.Database}' or be granted CREATE on it.",
            _ => "",
        };
        return new StartupFailedException(
            $"Processing {doing}: PostgreSQL at {target.Host}:{target.Port} answered {ex.SqlState} ({ex.MessageText}).{hint}", inner: ex);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Created database {Database} as role {Role}: it did not exist")]
        public static partial void DatabaseCreated(ILogger logger, string database, string role);
    }
}
