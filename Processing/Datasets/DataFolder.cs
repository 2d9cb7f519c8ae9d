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

        // A symbolic link inside the folder must not lead out of it either: not the file, nor any folder on
        // the way to it. Both sides are compared with every link resolved (the data folder may itself be one).
        var realRoot = RealPath(root);
        var realCandidate = RealPath(candidate);
        if (realRoot is null || realCandidate is null
            || !realCandidate.StartsWith(Path.EndsInDirectorySeparator(realRoot) ? realRoot : realRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            error = "The path leads outside the data folder.";
            return false;
        }

        fullPath = candidate;
        error = null;
        return true;
    }

    /// <summary>
    /// The path with every symbolic link along it resolved, component by component as the kernel does
    /// (<c>realpath</c>); parts that do not exist are kept as they are. Null when links loop.
    /// </summary>
    internal static string? RealPath(string fullPath)
    {
        const int MaxLinks = 40;
        var current = Path.GetPathRoot(fullPath)!;
        var pending = new Stack<string>();
        Push(pending, fullPath[current.Length..]);
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Join(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                return null;
            }

            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
                target = target[current.Length..];
            }

            Push(pending, target);
        }

        return current;

        static void Push(Stack<string> pending, string relative)
        {
            var parts = relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
            for (var i = parts.Length - 1; i >= 0; i--)
            {
                pending.Push(parts[i]);
            }
        }
    }
}
