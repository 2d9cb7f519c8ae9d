using System.Diagnostics.CodeAnalysis;
using DataStack.Processing.Text;

namespace DataStack.Processing.Ingest;

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

        // A symbolic link inside the folder (to the file or to any folder on the way) must not lead out of
        // it either: compare where the path really leads with where the folder really is.
        string realRoot, realCandidate;
        try
        {
            realRoot = RealPath(root, depth: 0);
            realCandidate = RealPath(candidate, depth: 0);
        }
        catch (IOException)
        {
            error = "The path cannot be resolved (a broken or looping symbolic link).";
            return false;
        }

        if (!IsInside(realRoot, realCandidate))
        {
            error = "The path leads outside the data folder.";
            return false;
        }

        fullPath = candidate;
        error = null;
        return true;
    }

    /// <summary>Whether the data folder exists here: it is optional (a deployment mounts one only if it wants file ingests).</summary>
    public static bool Exists(string dataDir) => Directory.Exists(Path.GetFullPath(dataDir));

    /// <summary>
    /// Says that this process has no data folder, which setting names it and what to do instead. The folder's
    /// absolute location stays on the server.
    /// </summary>
    public static string NoDataFolderMessage =>
        $"Processing has no data folder here: the folder its setting {IngestOptions.SectionName}:{nameof(IngestOptions.DataDir)} " +
        $"(environment {IngestOptions.SectionName}__{nameof(IngestOptions.DataDir)}) names does not exist. Mount one there " +
        "(the same files on every replica) to ingest files from it, or upload the file with PUT /datasets/{name}, which needs no data folder.";

    /// <summary>
    /// Opens a path <see cref="TryResolve"/> accepted, then checks where the opened file really is, so a
    /// symbolic link swapped in between the check and the open cannot lead out of the folder. Returns null
    /// (and closes the file) when it does. The check reads the kernel's name for the open handle
    /// (<c>/proc/self/fd/N</c>), so it applies on Linux — where Processing runs; elsewhere the check at
    /// <see cref="TryResolve"/> is all there is.
    /// </summary>
    public static FileStream? OpenInside(string dataDir, string fullPath, FileStreamOptions options)
    {
        var stream = new FileStream(fullPath, options);
        if (!OperatingSystem.IsLinux())
        {
            return stream;
        }

        var opened = new FileInfo($"/proc/self/fd/{stream.SafeFileHandle.DangerousGetHandle()}").LinkTarget;
        if (opened is not null && IsInside(RealPath(Path.GetFullPath(dataDir), depth: 0), opened))
        {
            return stream;
        }

        stream.Dispose();
        return null;
    }

    private static bool IsInside(string realRoot, string realPath) =>
        realPath.StartsWith(Path.EndsInDirectorySeparator(realRoot) ? realRoot : realRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>
    /// Says that <paramref name="relativePath"/> is not in the data folder, that ingest paths are relative to it and
    /// which setting names it, and, when the path starts with the folder's own name ("data/samples/x.csv") and the
    /// rest exists, which path was meant. The folder's absolute location stays on the server.
    /// </summary>
    public static string MissingFileMessage(string dataDir, string relativePath)
    {
        var message = $"There is no file '{UserInput.Excerpt(relativePath)}' in the data folder. Paths are relative to the data folder " +
            $"(the setting {IngestOptions.SectionName}:{nameof(IngestOptions.DataDir)}, environment {IngestOptions.SectionName}__{nameof(IngestOptions.DataDir)}), " +
            "e.g. 'samples/trips.csv' for data/samples/trips.csv.";
        var folderName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDir)));
        var parts = relativePath.Split('/', 2);
        if (parts.Length == 2 && parts[0] == folderName && TryResolve(dataDir, parts[1], out var meant, out _) && File.Exists(meant))
        {
            message += $" Did you mean '{UserInput.Excerpt(parts[1])}'?";
        }

        return message;
    }

    /// <summary>
    /// The path with every symbolic link on it resolved, like realpath(3); parts that do not exist are kept
    /// as written. Throws <see cref="IOException"/> for link loops.
    /// </summary>
    private static string RealPath(string fullPath, int depth)
    {
        if (depth > 40)
        {
            throw new IOException("Too many levels of symbolic links.");
        }

        var root = Path.GetPathRoot(fullPath) ?? "";
        var current = root;
        foreach (var part in fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            FileSystemInfo entry = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (entry.LinkTarget is not null)
            {
                // The final target is not a link, but the folders it sits in may be.
                var target = entry.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? next;
                next = RealPath(Path.GetFullPath(target), depth + 1);
            }

            current = next;
        }

        return current;
    }
}
