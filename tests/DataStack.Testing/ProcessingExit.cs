using System.Diagnostics;

namespace DataStack.Testing;

/// <summary>What a Processing process that ran to its end printed, and how it exited.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="StandardOutput">Everything written to stdout.</param>
/// <param name="StandardError">Everything written to stderr.</param>
public sealed record ProcessingExit(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>
    /// Runs <c>dotnet Processing.dll</c> with exactly <paramref name="environment"/> as its wiring-contract
    /// settings (nothing of the kind is inherited from the test's own environment) and waits for it to exit.
    /// For start-up checks: a process that does not exit within <paramref name="timeout"/> is killed and
    /// reported as a <see cref="TimeoutException"/>.
    /// </summary>
    public static async Task<ProcessingExit> RunAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        startInfo.ArgumentList.Add(ProcessingProcess.FindProcessingDll());
        ContractSettings.RemoveInherited(startInfo.Environment);

        startInfo.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort.Next()}";
        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            startInfo.Environment[key] = value;
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start dotnet.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"Processing did not exit within {timeout}:\n{await stdout}\n{await stderr}");
        }

        return new ProcessingExit(process.ExitCode, await stdout, await stderr);
    }
}
