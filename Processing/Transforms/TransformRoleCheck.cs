using DataStack.Processing.Database;
using Npgsql;

namespace DataStack.Processing.Transforms;

/// <summary>
/// At start-up, once the schema is migrated, says so when transforms cannot run as the datasets-only role
/// (<c>0002_transform_role.sql</c> creates it only where the connecting role may create roles): they then run with
/// every privilege of the connecting role.
/// </summary>
public sealed partial class TransformRoleCheck(NpgsqlDataSource dataSource, MigrationState migrations, ILogger<TransformRoleCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await migrations.WhenApplied.WaitAsync(cancellationToken);
        const string Role = TransformJobHandler.TransformRole;
        await using var command = dataSource.CreateCommand(
            $"SELECT current_user::text, CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{Role}') THEN pg_has_role('{Role}', 'MEMBER') ELSE false END");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken) && !reader.GetBoolean(1))
        {
            Log.TransformRoleMissing(logger, reader.GetString(0), Role);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 5201, Level = LogLevel.Warning,
            Message = "Transforms run as the connecting role {Role}: the sandbox role {TransformRole} could not be created or granted to it (that needs CREATEROLE or a superuser). Create and grant it once as an administrator (Processing/Database/Migrations/0002_transform_role.sql), or give {Role} no more than reading and writing the datasets")]
        public static partial void TransformRoleMissing(ILogger logger, string role, string transformRole);
    }
}
