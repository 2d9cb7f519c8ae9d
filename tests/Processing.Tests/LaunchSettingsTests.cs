using System.Text.Json;

namespace DataStack.Processing.Tests;

/// <summary>Processing run alone and Processing under the AppHost listen on different ports by default.</summary>
public sealed class LaunchSettingsTests
{
    [Fact]
    public void ProcessingAloneDoesNotTakeThePortTheAppHostGivesProcessing()
    {
        // Arrange
        using var settings = JsonDocument.Parse(File.ReadAllText(FindLaunchSettings()));
        var profiles = settings.RootElement.GetProperty("profiles").EnumerateObject()
            .Where(profile => profile.Value.GetProperty("commandName").GetString() == "Project")
            .ToList();

        // Act: `dotnet run` takes the first Project profile; AppHost.cs names the "aspire" one.
        var alone = new Uri(profiles[0].Value.GetProperty("applicationUrl").GetString()!);
        var underAppHost = new Uri(profiles.Single(profile => profile.Name == "aspire").Value.GetProperty("applicationUrl").GetString()!);

        // Assert
        Assert.Equal("http", profiles[0].Name);
        Assert.Equal(5190, alone.Port);
        Assert.Equal(5180, underAppHost.Port);
    }

    private static string FindLaunchSettings()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Processing", "Properties", "launchSettings.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("Processing/Properties/launchSettings.json not found above the test assembly.");
    }
}
