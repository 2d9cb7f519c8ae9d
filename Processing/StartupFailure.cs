using System.Net.Sockets;
using DataStack.Processing.Database;
using Microsoft.Extensions.Options;

namespace DataStack.Processing;

/// <summary>
/// Why Processing could not start, as the one line it prints on stderr and the exit code it returns (README,
/// "Troubleshooting"): 78 (EX_CONFIG) for what an operator fixes in the settings, the database or the host;
/// 70 (EX_SOFTWARE) for anything else.
/// </summary>
public sealed record StartupFailure(string Line, int ExitCode)
{
    /// <summary>The exit code of a start that failed for a reason not foreseen here (EX_SOFTWARE in sysexits.h).</summary>
    public const int UnexpectedExitCode = 70;

    /// <summary>The line and exit code for an exception thrown while the host started; never null.</summary>
    public static StartupFailure Describe(Exception exception) => exception switch
    {
        StartupFailedException failed => new(failed.Message, failed.ExitCode),
        OptionsValidationException invalid => new(
            $"Processing's settings are invalid: {string.Join(" ", invalid.Failures)}", StartupSettings.MissingSettingExitCode),
        IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } inUse => new(
            $"{inUse.Message} Another process listens there: stop it, or give Processing another address (--urls or ASPNETCORE_URLS).",
            StartupSettings.MissingSettingExitCode),
        _ => new($"Processing could not start: {exception.GetType().Name}: {exception.Message}", UnexpectedExitCode),
    };
}
