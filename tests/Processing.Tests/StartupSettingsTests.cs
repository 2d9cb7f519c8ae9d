
namespace DataStack.Processing.Tests;

/// <summary>A missing required setting stops the real process with one line naming it, not a stack trace.</summary>
public sealed class StartupSettingsTests
{
    private const string ConnectionString = "Host=127.0.0.1;Port=1;Username=nobody;Password=unused;Database=analytics";

    [Fact]
    public async Task AMissingConnectionStringIsOneLineAndANonZeroExit()
    {
        // Act
        var exit = await ProcessingExit.RunAsync(
            new Dictionary<string, string> { ["Processing__ApiKey"] = "a-key" },
            TimeSpan.FromSeconds(60));

        // Assert
        AssertRefused(exit, "No connection string 'analytics'. Set ConnectionStrings__analytics");
    }

    [Fact]
    public async Task AMissingApiKeyIsOneLineAndANonZeroExit()
    {
        // Act
        var exit = await ProcessingExit.RunAsync(
            new Dictionary<string, string> { ["ConnectionStrings__analytics"] = ConnectionString },
            TimeSpan.FromSeconds(60));

        // Assert
        AssertRefused(exit, "Processing:ApiKey is not set. Set Processing__ApiKey");
    }

    [Fact]
    public async Task BothMissingAreNamedTogether()
    {
        // Act
        var exit = await ProcessingExit.RunAsync(new Dictionary<string, string>(), TimeSpan.FromSeconds(60));

        // Assert
        Assert.Equal(StartupSettings.MissingSettingExitCode, exit.ExitCode);
        Assert.Equal(
            [StartupSettings.MissingConnectionString, StartupSettings.MissingApiKey],
            exit.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private static void AssertRefused(ProcessingExit exit, string expected)
    {
        var lines = exit.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(StartupSettings.MissingSettingExitCode, exit.ExitCode);
        Assert.Single(lines);
        Assert.StartsWith(expected, lines[0]);
        Assert.DoesNotContain("Unhandled exception", exit.StandardOutput + exit.StandardError);
        Assert.DoesNotContain("   at ", exit.StandardOutput + exit.StandardError);
    }
}
