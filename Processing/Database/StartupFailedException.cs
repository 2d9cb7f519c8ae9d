namespace DataStack.Processing.Database;

/// <summary>
/// Processing cannot start, for a reason an operator must fix. <see cref="Exception.Message"/> is the one line
/// printed on stderr (the cause and what to do, never a secret); <see cref="ExitCode"/> is the process's exit code.
/// </summary>
public sealed class StartupFailedException(string message, int exitCode = StartupFailedException.ConfigurationExitCode, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The exit code of a start refused for what an operator must fix: a setting, the database (EX_CONFIG in sysexits.h).</summary>
    public const int ConfigurationExitCode = 78;

    public int ExitCode { get; } = exitCode;
}
