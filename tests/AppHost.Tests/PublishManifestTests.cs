using System.Text.Json;

namespace DataStack.AppHost.Tests;

/// <summary>
/// The README's publish command, run for real: <c>dotnet run --project AppHost -- --publisher manifest</c>.
/// </summary>
public sealed class PublishManifestTests
{
    [Fact]
    public async Task PublishCommandWritesTheManifestAndExits()
    {
        // Arrange
        using var output = new TempDirectory();
        var manifestPath = Path.Combine(output.Path, "aspire-manifest.json");
        var secrets = new Dictionary<string, string>
        {
            ["Parameters__postgres-password"] = $"pw{Guid.NewGuid():N}",
            ["Parameters__processing-api-key"] = $"key{Guid.NewGuid():N}",
            ["Parameters__jupyter-token"] = $"token{Guid.NewGuid():N}",
        };

        // Act
        var run = await AppHostCommand.TryRunAsync(["--publisher", "manifest", "--output-path", manifestPath], CancellationToken.None, secrets);
        var log = run.Output + run.Error;

        // Assert
        Assert.True(run.ExitCode == 0, $"The publish command exited with {run.ExitCode}:\n{log}");
        var text = await File.ReadAllTextAsync(manifestPath);
        using var manifest = JsonDocument.Parse(text);
        var resources = manifest.RootElement.GetProperty("resources");
        var names = resources.EnumerateObject().Select(resource => resource.Name).ToHashSet();
        Assert.Subset(names, new HashSet<string> { "postgres", "analytics", "processing", "runner", "postgres-password", "processing-api-key" });
        Assert.DoesNotContain("jupyter", names);
        Assert.DoesNotContain("jupyter-token", names);
        Assert.DoesNotContain(names, name => name.Contains("pgweb", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("project.v0", resources.GetProperty("processing").GetProperty("type").GetString());
        var runner = resources.GetProperty("runner");
        Assert.Equal("container.v1", runner.GetProperty("type").GetString());
        Assert.Equal("runner", runner.GetProperty("build").GetProperty("stage").GetString());
        Assert.False(runner.TryGetProperty("bindMounts", out _), "The published runner mounts a folder of this machine.");
        foreach (var parameter in new[] { "postgres-password", "processing-api-key" })
        {
            var input = resources.GetProperty(parameter).GetProperty("inputs").GetProperty("value");
            Assert.True(input.GetProperty("secret").GetBoolean(), $"{parameter} is not secret");
            Assert.True(input.GetProperty("default").TryGetProperty("generate", out _), $"{parameter} is not generated");
        }

        Assert.All(secrets.Values, secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
        Assert.All(secrets.Values, secret => Assert.DoesNotContain(secret, log, StringComparison.Ordinal));
    }

    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("datastack-manifest-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
