using Microsoft.Extensions.Configuration;

namespace DataStack.AppHost;

/// <summary>
/// Which images the AppHost runs and builds on, from configuration (<c>appsettings.json</c>, environment
/// <c>Images__Postgres</c>, or <c>--Images:Postgres=…</c>). The defaults in <c>appsettings.json</c> are pinned
/// public images; teams behind a mirror or without any registry point these keys at what they have.
/// </summary>
internal sealed record ImageSettings(
    ImageReference Postgres,
    ImageReference? PgWeb,
    ImageReference JupyterBase,
    string JupyterPipIndexUrl,
    ImageReference RunnerBase)
{
    /// <summary>The value of <c>Images:PgWeb</c> that leaves pgweb out of the stack (it has no stand-in).</summary>
    public const string None = "none";

    public static ImageSettings From(IConfiguration configuration)
    {
        var mirror = configuration["Images:Registry"];
        var pgWeb = configuration["Images:PgWeb"];
        return new ImageSettings(
            Postgres: Read(configuration, "Images:Postgres").Through(mirror),
            PgWeb: string.Equals(pgWeb, None, StringComparison.OrdinalIgnoreCase) ? null : Read(configuration, "Images:PgWeb").Through(mirror),
            JupyterBase: Read(configuration, "Jupyter:BaseImage").Through(mirror),
            JupyterPipIndexUrl: configuration["Jupyter:PipIndexUrl"] ?? string.Empty,
            // The runner is built on the notebook's base unless a team deploys on another Python image.
            RunnerBase: Read(configuration, string.IsNullOrWhiteSpace(configuration["Runner:BaseImage"]) ? "Jupyter:BaseImage" : "Runner:BaseImage").Through(mirror));
    }

    private static ImageReference Read(IConfiguration configuration, string key)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException($"The AppHost setting '{key}' is empty. It names a container image: set it in AppHost/appsettings.json, as --{key}=name:tag, or as the environment variable {key.Replace(":", "__", StringComparison.Ordinal)}.");
        }

        return ImageReference.TryParse(value, out var reference)
            ? reference
            : throw new InvalidOperationException($"The AppHost setting '{key}' is '{value}', which is not an image reference ([registry/]name:tag).");
    }
}
