using System.ComponentModel;
using System.Diagnostics;

namespace DataStack.AppHost.Tests;

/// <summary>
/// Whether the container runtime Aspire will use (Docker, or Podman via <c>ASPIRE_CONTAINER_RUNTIME</c>) answers.
/// Asked once per test run, with a real <c>info</c> call rather than a look for the executable.
/// </summary>
internal static class ContainerRuntime
{
    /// <summary>Set to <c>1</c> to turn a missing runtime into failing end-to-end tests instead of skipped ones.</summary>
    public const string RequireVariable = "DATASTACK_REQUIRE_DOCKER";

    private static Lazy<string?> Problem { get; } = new(Probe);

    /// <summary>
    /// Whether a missing runtime fails the tests that need it: with <see cref="RequireVariable"/>=1, and on CI
    /// (<c>CI=true</c>, which CI services set), where a skipped container test would pass unnoticed.
    /// </summary>
    public static bool IsRequired =>
        Environment.GetEnvironmentVariable(RequireVariable) == "1"
        || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The runtime's command line tool: <c>docker</c>, or what <c>ASPIRE_CONTAINER_RUNTIME</c> names (Aspire's own setting).</summary>
    public static string Executable =>
        Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME")
        ?? Environment.GetEnvironmentVariable("DOTNET_ASPIRE_CONTAINER_RUNTIME")
        ?? "docker";

    /// <summary>
    /// Why a fixture that needs the runtime did not start it, or <see langword="null"/> when it answers: on a run that
    /// requires the runtime, the message says what to install.
    /// </summary>
    public static string? FixtureProblem => Unavailability is { } reason
        ? IsRequired
            ? $"No container runtime answers, and this run requires one (CI=true or {RequireVariable}=1): {reason} Install docker.io and start dockerd (.ci/run does both)."
            : reason
        : null;

    /// <summary>Why the runtime cannot be used, or <see langword="null"/> when it answers.</summary>
    public static string? Unavailability => Problem.Value;

    private static string? Probe()
    {
        var runtime = Executable;
        var startInfo = new ProcessStartInfo(runtime, "info")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        try
        {
            using var process = Process.Start(startInfo);
            if (process is null)
            {
                return $"'{runtime} info' could not be started.";
            }

            // Drain both pipes so a chatty runtime cannot block on a full buffer.
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                process.Kill(entireProcessTree: true);
                return $"'{runtime} info' did not answer within 20 seconds.";
            }

            process.WaitForExit();
            return process.ExitCode == 0
                ? null
                : $"'{runtime} info' exited with code {process.ExitCode}: {FirstLine(error.Result)}{FirstLine(output.Result)}";
        }
        catch (Win32Exception ex)
        {
            return $"'{runtime}' could not be run ({ex.Message}).";
        }
    }

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty;
}
