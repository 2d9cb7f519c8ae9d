using System.Security.Cryptography;

namespace DataStack.Processing.Tests;

/// <summary>
/// What a deployment meets at start-up: a server where nobody made the <c>analytics</c> database, a role that may not
/// make it, wrong credentials. The real process either starts or stops with one line and the documented exit code.
/// </summary>
public sealed class DatabaseStartupTests
{
    [Fact]
    public async Task AMissingDatabaseIsCreatedWhenTheRoleMayCreateDatabases()
    {
        // Arrange: a role with CREATEDB and no database of its own, as a fresh postgres container's user.
        var server = await PostgresServer.SharedAsync();
        var (role, password) = await CreateRoleAsync(server, "CREATEDB");
        var database = $"created_{Guid.NewGuid():N}";

        // Act
        await using var processing = await ProcessingProcess.StartAsync(
            server.ConnectionStringFor(database, role, password), Path.Combine(Path.GetTempPath(), $"no-data-{Guid.NewGuid():N}"));

        // Assert: healthy (StartAsync waits for /health), on a database it created and owns.
        Assert.Equal(role, await Sql.ScalarAsync<string>(
            server.AdminConnectionString, "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1", database));
        Assert.Contains($"Created database {database}", processing.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingDatabaseTheRoleMayNotCreateIsOneLineSayingWhatToRun()
    {
        // Arrange: a role without CREATEDB, as on a managed server.
        var server = await PostgresServer.SharedAsync();
        var (role, password) = await CreateRoleAsync(server, "NOCREATEDB");
        var database = $"missing_{Guid.NewGuid():N}";

        // Act
        var exit = await ProcessingExit.RunAsync(Settings(server.ConnectionStringFor(database, role, password)), TimeSpan.FromSeconds(60));

        // Assert
        var line = AssertOneLine(exit, password);
        Assert.Contains($"Database '{database}' does not exist", line, StringComparison.Ordinal);
        Assert.Contains($"CREATE DATABASE \"{database}\" OWNER \"{role}\"", line, StringComparison.Ordinal);
        Assert.Contains("CREATEDB", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongCredentialsAreOneLineNamingTheConnectionString()
    {
        // Arrange
        var server = await PostgresServer.SharedAsync();
        var wrong = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

        // Act
        var exit = await ProcessingExit.RunAsync(Settings(server.ConnectionStringFor("postgres", "postgres", wrong)), TimeSpan.FromSeconds(60));

        // Assert
        var line = AssertOneLine(exit, wrong);
        Assert.Contains("28P01", line, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings__analytics", line, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Settings(string connectionString) => new()
    {
        ["ConnectionStrings__analytics"] = connectionString,
        ["Processing__ApiKey"] = "a-key",
    };

    /// <summary>The process stopped with exit code 78 and one line on stderr, no stack trace, no password.</summary>
    private static string AssertOneLine(ProcessingExit exit, string password)
    {
        var lines = exit.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(exit.ExitCode == StartupSettings.MissingSettingExitCode, $"exit code {exit.ExitCode}:\n{exit.StandardOutput}\n{exit.StandardError}");
        Assert.Single(lines);
        var everything = exit.StandardOutput + exit.StandardError;
        Assert.DoesNotContain("   at ", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(password, everything, StringComparison.Ordinal);
        return lines[0];
    }

    private static async Task<(string Role, string Password)> CreateRoleAsync(PostgresServer server, string createDb)
    {
        var role = $"role_{Guid.NewGuid():N}";
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await Sql.ExecuteAsync(server.AdminConnectionString, $"CREATE ROLE \"{role}\" LOGIN {createDb} PASSWORD '{password}'");
        return (role, password);
    }
}
