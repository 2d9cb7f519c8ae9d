using DataStack.Processing.Ingest;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DataStack.Processing.Tests;

public sealed class UploadSweeperTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Fact]
    public async Task SweepRemovesOldSpoolFilesThatNoLiveJobRefersTo()
    {
        // Arrange
        var orphan = SpoolFile($"{Guid.NewGuid():N}.csv", age: TimeSpan.FromHours(1));
        var young = SpoolFile($"{Guid.NewGuid():N}.csv", age: TimeSpan.Zero);
        var queuedName = $"{Guid.NewGuid():N}.csv";
        var queued = SpoolFile(queuedName, age: TimeSpan.FromHours(1));
        // A queued upload job that no worker will claim yet (run_after in the future).
        await Sql.ExecuteAsync(app.ConnectionString, $$"""
            INSERT INTO datastack.jobs (id, kind, args, max_attempts, run_after)
            VALUES (gen_random_uuid(), 'ingest',
                    '{"dataset": "later", "path": ".uploads/{{queuedName}}", "mode": "replace", "upload": true}',
                    3, now() + interval '1 day')
            """);

        // Act
        var deleted = await app.Services.GetRequiredService<UploadSweeper>().SweepAsync(CancellationToken.None);

        // Assert
        Assert.True(deleted >= 1);
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(young));
        Assert.True(File.Exists(queued));
    }

    private string SpoolFile(string name, TimeSpan age)
    {
        var path = Path.Combine(app.DataDir, ".uploads", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "a\n1\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }
}
