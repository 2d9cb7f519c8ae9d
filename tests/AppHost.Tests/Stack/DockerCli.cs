using System.Diagnostics;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The <c>docker</c> command line, for what a user would do by hand: exec into a container, kill one, drop a volume.
/// </summary>
internal static class DockerCli
{
    private static TimeSpan CommandTimeout { get; } = TimeSpan.FromMinutes(5);

    /// <summary>Runs <c>docker args…</c>, feeding <paramref name="input"/> on stdin; fails with its output on a non-zero exit.</summary>
    public static async Task<string> RunAsync(IEnumerable<string> args, string? input, CancellationToken cancellationToken)
    {
        var (exitCode, output, error) = await TryRunAsync(args, input, cancellationToken);
        return exitCode == 0
            ? output
            : throw new InvalidOperationException($"'docker {string.Join(' ', args)}' exited with {exitCode}:\n{error}\n{output}");
    }

    public static async Task<(int ExitCode, string Output, string Error)> TryRunAsync(IEnumerable<string> args, string? input, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("docker")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("docker could not be started.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
        }

        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }
}
