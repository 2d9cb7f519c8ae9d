using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

/// <summary>Where the transform sandbox role cannot be had, the real process says at start-up what transforms run as.</summary>
public sealed class TransformRoleWarningTests : IDisposable
{
    private const string Warning = "Transforms run as the connecting role";

    private readonly string _dataDir = Directory.CreateTempSubdirectory("datastack-role-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    [Fact]
    public async Task ARoleThatCannotCreateRolesGetsAWarningNamingIt()
    {
        // Arrange: the role Aspire's AddDatabase would give (LOGIN, owns its database, no CREATEROLE).
        var postgres = await PostgresServer.SharedAsync();
        var connectionString = await postgres.CreateDatabaseAsync("roleless");
        var role = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Username!;

        // Act
        await using var processing = await ProcessingProcess.StartAsync(connectionString, _dataDir);

        // Assert
        Assert.Contains($"{Warning} {role}: the sandbox role datastack_transform could not be created", processing.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASuperuserGetsTheSandboxRoleAndNoWarning()
    {
        // Arrange
        var postgres = await PostgresServer.SharedAsync();
        var database = TestDatasets.NewName("rolesuper");
        await Sql.ExecuteAsync(postgres.AdminConnectionString, $"CREATE DATABASE \"{database}\"");

        // Act
        await using var processing = await ProcessingProcess.StartAsync(
            postgres.ConnectionStringFor(database, "postgres", postgres.SuperUserPassword), _dataDir);

        // Assert
        Assert.DoesNotContain(Warning, processing.Output, StringComparison.Ordinal);
    }
}
