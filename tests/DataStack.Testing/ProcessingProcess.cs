using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace DataStack.Testing;

/// <summary>
/// The Processing service as a real operating-system process (<c>dotnet Processing.dll</c>), configured
/// only through the wiring contract's environment variables, as Aspire would start it. Used where a test
/// must kill, signal or restart a replica.
/// </summary>
public sealed partial class ProcessingProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ProcessingProcess(Process process, Uri baseAddress, string apiKey)
    {
        _process = process;
        BaseAddress = baseAddress;
        ApiKey = apiKey;
    }

    public Uri BaseAddress { get; }

    public string ApiKey { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>What the process wrote to stdout and stderr so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts Processing and waits until <c>/health</c> answers 200 (at most <paramref name="startTimeout"/>).
    /// </summary>
    public static async Task<ProcessingProcess> StartAsync(
        string connectionString,
        string dataDir,
        string? apiKey = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? startTimeout = null,
        CancellationToken cancellationToken = default)
    {
        apiKey ??= Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var port = FreePort.Next();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var dll = FindProcessingDll();
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The content root, as in the container (/app): the shipped appsettings.json applies. With the data
            // folder here it did not, so test and bench replicas logged every SQL command (Npgsql at Information).
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        startInfo.ArgumentList.Add(dll);
        ContractSettings.RemoveInherited(startInfo.Environment);
        startInfo.Environment["ASPNETCORE_URLS"] = baseAddress.ToString();
        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        startInfo.Environment["ConnectionStrings__analytics"] = connectionString;
        startInfo.Environment["Processing__ApiKey"] = apiKey;
        startInfo.Environment["Processing__DataDir"] = dataDir;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start dotnet.");
        var instance = new ProcessingProcess(process, baseAddress, apiKey);
        process.OutputDataReceived += (_, e) => instance.Append(e.Data);
        process.ErrorDataReceived += (_, e) => instance.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await instance.WaitUntilHealthyAsync(startTimeout ?? TimeSpan.FromSeconds(60), cancellationToken);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client for this process with the bearer key set.</summary>
    public HttpClient CreateClient()
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return client;
    }

    /// <summary>Polls <c>/health</c> until it answers 200, the process exits, or the timeout passes.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Processing exited with {_process.ExitCode} before it was healthy:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync("/health", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A single probe timed out; probe again.
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"Processing was not healthy within {timeout}:\n{Output}");
    }

    /// <summary>SIGKILL: the process dies at once, mid-whatever, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: the orchestrator's polite stop; the service drains and exits.</summary>
    public void Terminate()
    {
        if (!_process.HasExited && SendSignal(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>SIGTERM, then waits for the exit (at most <paramref name="timeout"/>): a graceful stop, as an orchestrator's.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Terminate();
        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    /// <summary>
    /// The built Processing.dll: <c>DATASTACK_PROCESSING_DLL</c> if set, otherwise the copy built next to the
    /// calling test assembly (a project reference), otherwise the Processing project's own output.
    /// </summary>
    public static string FindProcessingDll()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("DATASTACK_PROCESSING_DLL");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return File.Exists(fromEnvironment)
                ? fromEnvironment
                : throw new FileNotFoundException($"DATASTACK_PROCESSING_DLL points at a missing file: {fromEnvironment}");
        }

        var besideTests = Path.Combine(AppContext.BaseDirectory, "Processing.dll");
        if (File.Exists(besideTests) && File.Exists(Path.Combine(AppContext.BaseDirectory, "Processing.runtimeconfig.json")))
        {
            return besideTests;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var project = Path.Combine(dir.FullName, "Processing", "Processing.csproj");
            if (File.Exists(project))
            {
                var candidate = Directory.EnumerateFiles(Path.Combine(dir.FullName, "Processing", "bin"), "Processing.dll", SearchOption.AllDirectories)
                    .OrderByDescending(File.GetLastWriteTimeUtc)
                    .FirstOrDefault();
                return candidate ?? throw new FileNotFoundException("Processing is not built: run 'dotnet build Processing'.");
            }
        }

        throw new FileNotFoundException("Processing.dll not found; build Processing or set DATASTACK_PROCESSING_DLL.");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // Keep the tail only: enough to explain a failure, bounded for long runs.
            if (_output.Length > 256 * 1024)
            {
                _output.Remove(0, 128 * 1024);
            }

            _output.AppendLine(line);
        }
    }


    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
