using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;

namespace DataStack.Testing;

/// <summary>
/// A throwaway PostgreSQL server started from the locally installed server binaries: <c>initdb</c> in a
/// temporary directory, a free loopback port, fsync off, removed on dispose. It is the same server the
/// Aspire <c>postgres</c> container runs, without a container. When the tests run as root the server runs
/// as the <c>postgres</c> user, because PostgreSQL refuses to run as root.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string SuperUser = "postgres";
    private static readonly Lazy<Task<PostgresServer>> s_shared = new(CreateSharedAsync);

    private readonly string _binDir;
    private readonly string _rootDir;
    private readonly string? _runAs;
    private int _disposed;

    private PostgresServer(string binDir, string rootDir, string? runAs, int port, string superUserPassword)
    {
        _binDir = binDir;
        _rootDir = rootDir;
        _runAs = runAs;
        Port = port;
        SuperUserPassword = superUserPassword;
    }

    /// <summary>One server for the whole test process, started on first use and stopped at process exit.</summary>
    public static Task<PostgresServer> SharedAsync() => s_shared.Value;

    public string Host => "127.0.0.1";

    public int Port { get; }

    public string SuperUserPassword { get; }

    public string DataDirectory => Path.Combine(_rootDir, "data");

    /// <summary>Connection string of the superuser, to the <c>postgres</c> database.</summary>
    public string AdminConnectionString => ConnectionStringFor("postgres", SuperUser, SuperUserPassword);

    public string ConnectionStringFor(string database, string username, string password) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Database = database,
            Username = username,
            Password = password,
        }.ConnectionString;

    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var binDir = FindBinDirectory();
        var rootDir = Directory.CreateTempSubdirectory("datastack-pg-").FullName;
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var server = new PostgresServer(binDir, rootDir, runAs, FreePort.Next(), password);
        try
        {
            await server.InitializeAsync(cancellationToken);
            await server.StartServerAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Creates a database owned by a new login role with a password of its own, as Aspire's
    /// <c>AddDatabase</c> would, and returns that role's connection string.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)].ToLowerInvariant();
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var createRole = new NpgsqlCommand($"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'", connection))
        {
            await createRole.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var createDb = new NpgsqlCommand($"CREATE DATABASE \"{name}\" OWNER \"{name}\"", connection))
        {
            await createDb.ExecuteNonQueryAsync(cancellationToken);
        }

        return ConnectionStringFor(name, name, password);
    }

    /// <summary>Stops the server (fast shutdown: open connections are terminated).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) =>
        RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"], cancellationToken);

    /// <summary>Starts the server again on the same port and data directory.</summary>
    public Task StartServerAsync(CancellationToken cancellationToken = default)
    {
        string[] settings =
        [
            $"-p {Port}",
            "-c listen_addresses=127.0.0.1",
            $"-c unix_socket_directories={_rootDir}",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=300",
            "-c shared_buffers=256MB",
        ];
        return RunAsync(
            "pg_ctl",
            ["-D", DataDirectory, "-l", Path.Combine(_rootDir, "server.log"), "-w", "-t", "60", "-o", string.Join(' ', settings), "start"],
            cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Already stopped: nothing to do before the directory goes.
            }
        }

        try
        {
            Directory.Delete(_rootDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a dying server process; the temp directory is reclaimed by the OS.
        }
    }

    private static async Task<PostgresServer> CreateSharedAsync()
    {
        var server = await StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(_rootDir, "pwfile");
        await File.WriteAllTextAsync(passwordFile, SuperUserPassword, cancellationToken);
        if (_runAs is not null)
        {
            await RunProcessAsync("chown", ["-R", $"{_runAs}:{_runAs}", _rootDir], cancellationToken);
        }

        await RunAsync(
            "initdb",
            ["-D", DataDirectory, "-U", SuperUser, "--pwfile", passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
            cancellationToken);
        File.Delete(passwordFile);
    }

    private Task RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var executable = Path.Combine(_binDir, tool);
        return _runAs is null
            ? RunProcessAsync(executable, arguments, cancellationToken)
            : RunProcessAsync("runuser", ["-u", _runAs, "--", executable, .. arguments], cancellationToken);
    }

    private static async Task RunProcessAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }

    private static string FindBinDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(Path.Combine(fromEnvironment, "initdb")))
        {
            return fromEnvironment;
        }

        const string DebianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(DebianRoot))
        {
            var newest = Directory.GetDirectories(DebianRoot)
                .Select(dir => (Dir: dir, Version: int.TryParse(Path.GetFileName(dir), out var v) ? v : -1))
                .Where(candidate => File.Exists(Path.Combine(candidate.Dir, "bin", "initdb")))
                .OrderByDescending(candidate => candidate.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return Path.Combine(newest.Dir, "bin");
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with " +
            "'apt-get install postgresql' (Debian/Ubuntu) or set PG_BIN to their directory.");
    }

}
