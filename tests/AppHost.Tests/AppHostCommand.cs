namespace DataStack.AppHost.Tests;

/// <summary>
/// The AppHost started as the README starts it, <c>dotnet run --project AppHost --no-build -- …</c>, in the build
/// configuration of this test run.
/// </summary>
internal static class AppHostCommand
{
    public static TimeSpan Timeout { get; } = TimeSpan.FromMinutes(3);

#if DEBUG
    private const string BuildConfiguration = "Debug";
#else
    private const string BuildConfiguration = "Release";
#endif

    /// <summary>Runs the AppHost with <paramref name="appHostArgs"/>; a non-zero exit is the caller's to judge.</summary>
    public static Task<CommandLine.Result> TryRunAsync(
        string[] appHostArgs, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null) =>
        CommandLine.TryRunAsync("dotnet", Arguments(appHostArgs), Timeout, cancellationToken, environment: environment);

    /// <summary>The README's publish command: writes the manifest to <paramref name="manifestPath"/>; a failure throws with what it printed.</summary>
    public static Task PublishManifestAsync(string manifestPath, CancellationToken cancellationToken) =>
        CommandLine.RunAsync("dotnet", Arguments(["--publisher", "manifest", "--output-path", manifestPath]), Timeout, cancellationToken);

    private static string[] Arguments(string[] appHostArgs) =>
        ["run", "--project", Path.Combine(Projects.AppHost.ProjectPath, "AppHost.csproj"), "--no-build", "-c", BuildConfiguration, "--", .. appHostArgs];
}
