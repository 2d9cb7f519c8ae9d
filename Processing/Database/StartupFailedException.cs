namespace DataStack.Processing.Database;

/// <summary>
/// Processing cannot start, for a reason an operator must fix. <see cref="Exception.Message"/> is the one line
/// printed on stderr (the cause and what to do, never a secret); <see cref="ExitCode"/> is the process's exit code.
/// </summary>
public sealed class StartupFailedException(string message, int exitCode = StartupSettings.MissingSettingExitCode, Exception? inner = null)
    : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
