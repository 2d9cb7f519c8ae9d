using System.ComponentModel;
using System.Diagnostics;

namespace DataStack.AppHost.Tests;

/// <summary>
/// Runs a program the way a user would at a shell (docker, dotnet, node) and collects what it printed.
/// The one place the tests start processes: arguments never pass through a shell, stdin is closed after
/// <c>input</c>, and a program that outlives its time is killed with its children.
/// </summary>
internal static class CommandLine
{
    /// <summary>What a finished command printed, and how it exited.</summary>
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>Runs the command; a non-zero exit is the caller's to judge.</summary>
    /// <exception cref="TimeoutException">The command ran longer than <paramref name="timeout"/> (it was killed).</exception>
    public static async Task<Result> TryRunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        string? input = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"'{fileName}' could not be started.");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"'{fileName}' could not be run ({ex.Message}).", ex);
        }

        using (process)
        {
            // Both pipes are drained while the program runs, so a chatty one cannot block on a full buffer.
            var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
            if (input is not null)
            {
                await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
            }

            process.StandardInput.Close();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                if (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                throw new TimeoutException($"'{fileName} {string.Join(' ', startInfo.ArgumentList)}' did not exit within {timeout}:\n{await output}{await error}");
            }

            return new Result(process.ExitCode, await output, await error);
        }
    }

    /// <summary>Runs the command and returns its output, trimmed; a non-zero exit throws with what it printed.</summary>
    public static async Task<string> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        string? input = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var list = arguments.ToList();
        var result = await TryRunAsync(fileName, list, timeout, cancellationToken, input, environment);
        return result.ExitCode == 0
            ? result.Output.Trim()
            : throw new InvalidOperationException($"'{fileName} {string.Join(' ', list)}' exited with code {result.ExitCode}:\n{result.Error.Trim()}\n{result.Output.Trim()}");
    }
}
