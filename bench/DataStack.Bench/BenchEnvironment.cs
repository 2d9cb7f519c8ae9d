using System.Diagnostics;
using System.Globalization;
using DataStack.Testing;
using Npgsql;

namespace DataStack.Bench;

/// <summary>
/// What every section shares: one PostgreSQL server (started here, so every contender hits the same server
/// in the same state), the <c>analytics</c> database, the data folder, and how to start Processing and psql.
/// </summary>
public sealed class BenchEnvironment : IAsyncDisposable
{
    private readonly PostgresServer _server;
    private readonly IReadOnlyDictionary<string, string> _processingEnvironment;

    private BenchEnvironment(PostgresServer server, string analytics, string analyticsAdmin, string repoRoot, IReadOnlyDictionary<string, string> processingEnvironment)
    {
        _processingEnvironment = processingEnvironment;
        _server = server;
        Analytics = analytics;
        AnalyticsAdmin = analyticsAdmin;
        RepoRoot = repoRoot;
        WorkDir = Path.Combine(repoRoot, "bench", ".work");
        DataDir = Path.Combine(WorkDir, "data");
        Directory.CreateDirectory(DataDir);
        Psql = Path.Combine(FindPgBin(), "psql");
    }

    public string RepoRoot { get; }

    public string WorkDir { get; }

    /// <summary>The data folder Processing is given (<c>Processing__DataDir</c>); the CSV inputs live here.</summary>
    public string DataDir { get; }

    /// <summary>Connection string of the database's owner role, as the AppHost would inject it.</summary>
    public string Analytics { get; }

    /// <summary>Superuser connection to the same database, for setup and reading results (never timed).</summary>
    public string AnalyticsAdmin { get; }

    public string Psql { get; }

    public static async Task<BenchEnvironment> StartAsync(string repoRoot, IReadOnlyDictionary<string, string> processingEnvironment, CancellationToken cancellationToken)
    {
        var server = await PostgresServer.StartAsync(cancellationToken);
        var analytics = await server.CreateDatabaseAsync("analytics", cancellationToken);
        var database = new NpgsqlConnectionStringBuilder(analytics).Database!;
        var admin = new NpgsqlConnectionStringBuilder(server.AdminConnectionString) { Database = database }.ConnectionString;
        return new BenchEnvironment(server, analytics, admin, repoRoot, processingEnvironment);
    }

    /// <summary>
    /// Starts one Processing replica with the wiring contract and the shipped settings (appsettings.json),
    /// telemetry off unless <paramref name="environment"/> says otherwise; <c>--env</c> overrides come last.
    /// </summary>
    public Task<ProcessingProcess> StartProcessingAsync(IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default) =>
        StartProcessingAsync(Analytics, environment, cancellationToken);

    /// <summary>As above, against another database of the same server (replicas that must not share a queue).</summary>
    public Task<ProcessingProcess> StartProcessingAsync(
        string connectionString, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string> { ["OTEL_SDK_DISABLED"] = "true" };
        foreach (var (key, value) in (environment ?? new Dictionary<string, string>()).Concat(_processingEnvironment))
        {
            env[key] = value;
        }

        return ProcessingProcess.StartAsync(connectionString, DataDir, environment: env, cancellationToken: cancellationToken);
    }

    /// <summary>A further database on the same server, owned by a role of its own.</summary>
    public Task<string> CreateDatabaseAsync(string prefix, CancellationToken cancellationToken) =>
        _server.CreateDatabaseAsync(prefix, cancellationToken);

    /// <summary>Runs untimed setup SQL, as the superuser or (<paramref name="asOwner"/>) as the database's owner role.</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken, bool asOwner = false)
    {
        await using var connection = new NpgsqlConnection(asOwner ? Analytics : AnalyticsAdmin);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<T> ScalarAsync<T>(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(AnalyticsAdmin);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Runs psql as the database owner (the same role Processing uses) with each of <paramref name="commands"/> as a
    /// <c>-c</c>, all in one transaction (<c>--single-transaction</c>), and returns the wall time of the whole psql
    /// process in ms (starting psql and connecting included), as a user at a shell would measure it.
    /// </summary>
    public async Task<double> RunPsqlAsync(IReadOnlyList<string> commands, CancellationToken cancellationToken)
    {
        var cs = new NpgsqlConnectionStringBuilder(Analytics);
        var startInfo = new ProcessStartInfo(Psql)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cs.Host!, "-p", cs.Port.ToString(CultureInfo.InvariantCulture), "-U", cs.Username!, "-d", cs.Database! })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.ArgumentList.Add("--single-transaction");

        foreach (var command in commands)
        {
            startInfo.ArgumentList.Add("-c");
            startInfo.ArgumentList.Add(command);
        }

        startInfo.Environment["PGPASSWORD"] = cs.Password;
        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start psql.");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql failed ({process.ExitCode}): {await stderr}{await stdout}");
        }

        return elapsed;
    }

    /// <summary>Machine, server and settings, for the head of the report.</summary>
    public async Task<string> DescribeAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(AnalyticsAdmin);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT version(), string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name)
            FROM pg_settings
            WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_wal_size', 'wal_level', 'max_connections')
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];
        return $"""
            - Machine: {Environment.ProcessorCount} cores ({cpu}), {memory.Split(':')[1].Trim()}, load average at start {string.Join(' ', load)} (shared machine)
            - .NET {Environment.Version}; PostgreSQL: {reader.GetString(0)}
            - Server settings (both sides): {reader.GetString(1)} — the test fixture's throwaway server (DataStack.Testing.PostgresServer)
            """;
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Peak resident set (VmHWM) and current RSS of a process, in MB.</summary>
    public static (double PeakMb, double RssMb) Memory(int pid)
    {
        double Read(string key) => File.ReadLines($"/proc/{pid}/status")
            .Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => double.Parse(l[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024)
            .FirstOrDefault();
        return (Read("VmHWM"), Read("VmRSS"));
    }

    /// <summary>User + system CPU time a process has used so far, in ms.</summary>
    public static double CpuMs(int pid) => CpuMs(pid, withReapedChildren: false);

    /// <summary>
    /// CPU time of this run's PostgreSQL server so far, in ms: the postmaster, its live children (backends,
    /// background writers) and the children it has already reaped (exited backends). Other PostgreSQL servers
    /// on the machine are not counted.
    /// </summary>
    public double PostgresCpuMs() =>
        TreeCpuMs(int.Parse(File.ReadLines(Path.Combine(_server.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture));

    /// <summary>
    /// CPU time so far of a process and all its live descendants, each with the children it has reaped, in ms: the
    /// whole tree's, exited members included once (a reaped child's time is in its parent's, a live one's in its own).
    /// </summary>
    public static double TreeCpuMs(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    var parent = int.Parse(StatFields(pid)[1], CultureInfo.InvariantCulture);
                    (children.TryGetValue(parent, out var list) ? list : children[parent] = []).Add(pid);
                }
                catch (IOException)
                {
                    // Exited while we looked; its time is in its parent's reaped-children total.
                }
            }
        }

        var total = 0.0;
        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            try
            {
                total += CpuMs(pid, withReapedChildren: true);
            }
            catch (IOException)
            {
                continue; // exited since the listing: counted in its parent's total once reaped
            }

            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                pending.Push(child);
            }
        }

        return total;
    }

    private static double CpuMs(int pid, bool withReapedChildren)
    {
        var fields = StatFields(pid);
        long Field(int index) => long.Parse(fields[index], CultureInfo.InvariantCulture);
        var ticks = Field(11) + Field(12) + (withReapedChildren ? Field(13) + Field(14) : 0);
        return ticks * 1000.0 / 100; // USER_HZ is 100 on Linux.
    }

    /// <summary>The fields of /proc/pid/stat after the command name: [0] state, [1] ppid, … [11] utime, [12] stime, [13] cutime, [14] cstime.</summary>
    private static string[] StatFields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    private static string FindPgBin()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        return Directory.GetDirectories("/usr/lib/postgresql")
            .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : -1)
            .Select(d => Path.Combine(d, "bin"))
            .First(d => File.Exists(Path.Combine(d, "psql")));
    }
}
