using System.Diagnostics.CodeAnalysis;

namespace DataStack.Processing.Datasets;

/// <summary>Resolves paths inside the shared data folder; nothing outside it can be named.</summary>
public static class DataFolder
{
    public static bool TryResolve(
        string dataDir, string? relativePath, [NotNullWhen(true)] out string? fullPath, [NotNullWhen(false)] out string? error)
    {
        fullPath = null;
        if (string.IsNullOrWhiteSpace(relativePath))
        {
            error = "A path relative to the data folder is required.";
            return false;
        }

        if (Path.IsPathRooted(relativePath) || relativePath.Contains('\0'))
        {
            error = "The path must be relative to the data folder.";
            return false;
        }

        var root = Path.GetFullPath(dataDir);
        var candidate = Path.GetFullPath(Path.Combine(root, relativePath));
        var rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        if (!candidate.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            error = "The path leads outside the data folder.";
            return false;
        }

        // A symbolic link inside the folder must not lead out of it either.
        var resolved = new FileInfo(candidate).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? candidate;
        if (!resolved.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            error = "The path leads outside the data folder.";
            return false;
        }

        fullPath = candidate;
        error = null;
        return true;
    }
}
