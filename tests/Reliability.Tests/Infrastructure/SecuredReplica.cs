using DataStack.Testing;

namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>
/// One real Processing process for the security tests, with a small upload limit (<see cref="MaxUploadBytes"/>)
/// and a file outside its data folder to try to reach (<see cref="OutsideFile"/>).
/// </summary>
public sealed class SecuredReplica : IAsyncLifetime
{
    public const long MaxUploadBytes = 1024 * 1024;

    public ReplicaSet Set { get; private set; } = null!;

    public ProcessingProcess Replica { get; private set; } = null!;

    /// <summary>A client with the right key.</summary>
    public HttpClient Client { get; private set; } = null!;

    public string OutsideDir { get; } = Directory.CreateTempSubdirectory("datastack-outside-").FullName;

    public string OutsideFile => Path.Combine(OutsideDir, "secret.csv");

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(OutsideFile, "secret\nhunter2\n");
        Set = await ReplicaSet.CreateAsync(environment: new Dictionary<string, string>
        {
            ["Processing__MaxUploadBytes"] = MaxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Replica = await Set.StartReplicaAsync();
        Client = Replica.CreateClient();
    }

    /// <summary>A client that sends no key.</summary>
    public HttpClient CreateAnonymousClient() => new() { BaseAddress = Replica.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Set.DisposeAsync();
        Directory.Delete(OutsideDir, recursive: true);
    }
}
