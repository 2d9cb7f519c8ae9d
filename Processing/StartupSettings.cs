using DataStack.Processing.Api;
using DataStack.Processing.Database;

namespace DataStack.Processing;

/// <summary>
/// The settings Processing cannot start without, checked before anything is built, so a missing one is one
/// clear line naming it and how to set it (and a non-zero exit), not an unhandled exception and a stack trace.
/// </summary>
public static class StartupSettings
{
    /// <summary>The exit code of a start refused for missing configuration (EX_CONFIG in sysexits.h).</summary>
    public const int MissingSettingExitCode = StartupFailedException.ConfigurationExitCode;

    /// <summary>One line per missing required setting; empty when Processing can start.</summary>
    public static IReadOnlyList<string> Missing(IConfiguration configuration)
    {
        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString(DataSourceExtensions.ConnectionName)))
        {
            missing.Add(MissingConnectionString);
        }

        var processing = configuration.GetSection(ApiOptions.SectionName);
        if (string.IsNullOrWhiteSpace(processing[nameof(ApiOptions.ApiKey)])
            && !processing.GetValue<bool>(nameof(ApiOptions.AllowAnonymous)))
        {
            missing.Add(MissingApiKey);
        }

        return missing;
    }

    public const string MissingConnectionString =
        $"No connection string '{DataSourceExtensions.ConnectionName}'. Set ConnectionStrings__{DataSourceExtensions.ConnectionName} " +
        "(an Npgsql connection string: Host=..;Port=..;Username=..;Password=..;Database=analytics); the AppHost injects it.";

    public const string MissingApiKey = ApiOptions.MissingApiKey;
}
