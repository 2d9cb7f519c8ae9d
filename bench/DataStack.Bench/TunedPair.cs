using System.Globalization;
using DataStack.Testing;

namespace DataStack.Bench;

/// <summary>
/// Two Processing replicas at a given <c>WorkerConcurrency</c> on a database (and so a queue) of their own:
/// what the queue section compares the shipped defaults with.
/// </summary>
public sealed class TunedPair : IAsyncDisposable
{
    private readonly ProcessingProcess _a;
    private readonly ProcessingProcess _b;

    private TunedPair(string connectionString, int concurrency, ProcessingProcess a, ProcessingProcess b)
    {
        ConnectionString = connectionString;
        Concurrency = concurrency;
        _a = a;
        _b = b;
    }

    /// <summary>The pair's database, as its owner role (enough to queue jobs and vacuum the queue).</summary>
    public string ConnectionString { get; }

    public int Concurrency { get; }

    public static async Task<TunedPair> StartAsync(BenchEnvironment env, int concurrency, CancellationToken cancellationToken)
    {
        var database = await env.CreateDatabaseAsync("queue_tuned", cancellationToken);
        var slots = new Dictionary<string, string> { ["Processing__WorkerConcurrency"] = concurrency.ToString(CultureInfo.InvariantCulture) };
        var a = await env.StartProcessingAsync(database, slots, cancellationToken);
        try
        {
            var b = await env.StartProcessingAsync(database, slots, cancellationToken);
            return new TunedPair(database, concurrency, a, b);
        }
        catch
        {
            await a.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }
}
