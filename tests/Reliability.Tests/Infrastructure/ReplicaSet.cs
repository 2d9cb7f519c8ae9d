using System.Security.Cryptography;
using System.Text;
using DataStack.Testing;

namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>
/// Processing replicas as real processes sharing one queue: one database of their own on a PostgreSQL server,
/// one data folder and one API key, as the AppHost would wire them. Disposing kills every replica.
/// </summary>
public sealed class ReplicaSet : IAsyncDisposable
{
    private readonly List<ProcessingProcess> _replicas = [];
    private readonly Dictionary<string, string> _environment;

    private ReplicaSet(PostgresServer server, string connectionString, string dataDir, Dictionary<string, string> environment)
    {
        Server = server;
        ConnectionString = connectionString;
        DataDir = dataDir;
        _environment = environment;
    }

    public PostgresServer Server { get; }

    public string ConnectionString { get; }

    public string DataDir { get; }

    public string ApiKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public IReadOnlyList<ProcessingProcess> Replicas
    {
        get
        {
            lock (_replicas)
            {
                return [.. _replicas];
            }
        }
    }

    /// <summary>
    /// A new database on <paramref name="server"/> (the shared test server when null). <paramref name="environment"/>
    /// is given to every replica, e.g. <c>Processing__LeaseSeconds</c>.
    /// </summary>
    public static async Task<ReplicaSet> CreateAsync(PostgresServer? server = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        server ??= await PostgresServer.SharedAsync();
        var connectionString = await server.CreateDatabaseAsync("reliability");
        var dataDir = Directory.CreateTempSubdirectory("datastack-reliability-").FullName;
        return new ReplicaSet(server, connectionString, dataDir, new Dictionary<string, string>(environment ?? new Dictionary<string, string>()));
    }

    /// <summary>Starts one more replica (healthy when this returns); <paramref name="extra"/> adds to the set's environment.</summary>
    public async Task<ProcessingProcess> StartReplicaAsync(IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>(_environment);
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var replica = await ProcessingProcess.StartAsync(ConnectionString, DataDir, ApiKey, environment);
        lock (_replicas)
        {
            _replicas.Add(replica);
        }

        return replica;
    }

    public async Task<IReadOnlyList<ProcessingProcess>> StartReplicasAsync(int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => StartReplicaAsync()));

    /// <summary>The replica whose job runner owns a lease (<c>host/pid/suffix</c>), if it is one of ours.</summary>
    public ProcessingProcess? OwnerOf(string? leaseOwner)
    {
        var parts = leaseOwner?.Split('/');
        return parts is { Length: >= 3 } && int.TryParse(parts[^2], out var pid)
            ? Replicas.FirstOrDefault(r => r.Pid == pid)
            : null;
    }

    /// <summary>The tail of every replica's output, for failure messages.</summary>
    public string DescribeReplicas(int tailChars = 3000)
    {
        var text = new StringBuilder();
        foreach (var replica in Replicas)
        {
            var output = replica.Output;
            text.AppendLine($"--- replica pid {replica.Pid} (exited: {replica.HasExited}) ---");
            text.AppendLine(output.Length <= tailChars ? output : output[^tailChars..]);
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in Replicas)
        {
            await replica.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }
}
