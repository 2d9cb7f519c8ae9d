using System.Diagnostics.CodeAnalysis;

namespace DataStack.AppHost;

/// <summary>
/// A container image reference as Docker reads one: <c>[registry/]repository[:tag][@digest]</c>.
/// </summary>
/// <param name="Registry">The registry host (with port), or <see langword="null"/> for the runtime's default.</param>
/// <param name="Repository">The repository path, e.g. <c>library/postgres</c>.</param>
/// <param name="Tag">The tag; <c>latest</c> when the reference names none.</param>
internal sealed record ImageReference(string? Registry, string Repository, string Tag)
{
    /// <summary>
    /// Reads a reference such as <c>docker.io/library/postgres:17.6</c> or <c>datastack-standin/postgres:15</c>.
    /// The first path part is a registry when it looks like a host (has a dot or a port, or is <c>localhost</c>),
    /// the rule Docker itself applies.
    /// </summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out ImageReference? reference)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(value) || value.Any(char.IsWhiteSpace) || value.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }

        var lastSlash = value.LastIndexOf('/');
        var tagSeparator = value.LastIndexOf(':');
        var (name, tag) = tagSeparator > lastSlash
            ? (value[..tagSeparator], value[(tagSeparator + 1)..])
            : (value, "latest");

        var firstSlash = name.IndexOf('/', StringComparison.Ordinal);
        string? registry = null;
        if (firstSlash > 0)
        {
            var first = name[..firstSlash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                registry = first;
                name = name[(firstSlash + 1)..];
            }
        }

        if (name.Length == 0 || tag.Length == 0 || name.StartsWith('/') || name.EndsWith('/'))
        {
            return false;
        }

        reference = new ImageReference(registry, name, tag);
        return true;
    }

    /// <summary>The same image pulled through <paramref name="mirror"/> instead of its own registry.</summary>
    public ImageReference Through(string? mirror) =>
        string.IsNullOrWhiteSpace(mirror) ? this : this with { Registry = mirror.TrimEnd('/') };

    public override string ToString() => Registry is null ? $"{Repository}:{Tag}" : $"{Registry}/{Repository}:{Tag}";
}
