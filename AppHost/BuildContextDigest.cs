using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace DataStack.AppHost;

/// <summary>
/// A digest of everything a <c>docker build</c> of a Dockerfile reads: the files of the build context that its
/// <c>.dockerignore</c> leaves in (path, mode, content), the Dockerfile, the target stage, the build arguments and
/// the base image's id. Equal digests build equal images, so an image tagged with the digest never needs building
/// again.
/// </summary>
/// <remarks>
/// <c>.dockerignore</c> is matched by Docker's rules (moby's patternmatcher, as the Docker CLI applies them): patterns
/// are relative to the context's root, <c>*</c> and <c>?</c> stop at a <c>/</c>, <c>**</c> spans any number of
/// folders, a pattern that matches a folder matches everything in it, and the last matching pattern wins, so
/// <c>!pattern</c> lines put files back. Hand-written because no .NET library implements these rules: gitignore
/// libraries match a pattern without a slash at any depth, where Docker anchors it at the root, and the difference
/// would leave a changed file out of the digest.
/// </remarks>
internal static class BuildContextDigest
{
    public static string Compute(string contextPath, string dockerfilePath, string? stage, IEnumerable<KeyValuePair<string, string>> buildArguments, string baseImageId)
    {
        var root = Path.GetFullPath(contextPath);
        var ignore = IgnoreRules.Read(Path.Combine(root, ".dockerignore"));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));

        Add("datastack build-context digest 1");
        Add($"dockerfile {Path.GetRelativePath(root, Path.GetFullPath(dockerfilePath)).Replace('\\', '/')}");
        Add($"stage {stage}");
        Add($"base {baseImageId}");
        foreach (var (name, value) in buildArguments.OrderBy(argument => argument.Key, StringComparer.Ordinal))
        {
            Add($"arg {name}={value}");
        }

        var files = Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(file => Path.GetRelativePath(root, file).Replace('\\', '/'))
            .Where(file => !ignore.Excludes(file))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var info = new FileInfo(Path.Combine(root, file));
            Add($"file {file} {(OperatingSystem.IsWindows() ? 0 : (int)info.UnixFileMode)} {info.LinkTarget}");
            if (info.LinkTarget is null)
            {
                using var content = info.OpenRead();
                hash.AppendData(SHA256.HashData(content));
            }
        }

        // 32 hex digits (128 bits) are plenty for telling versions of one image apart and keep the tag readable.
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..32];
    }

    /// <summary>The patterns of a <c>.dockerignore</c> file, in order.</summary>
    internal sealed class IgnoreRules
    {
        private readonly List<(Regex Pattern, bool Excludes)> _rules = [];

        public static IgnoreRules Read(string path) =>
            Parse(File.Exists(path) ? File.ReadAllLines(path) : []);

        public static IgnoreRules Parse(IEnumerable<string> lines)
        {
            var rules = new IgnoreRules();
            foreach (var line in lines.Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#')))
            {
                var excludes = !line.StartsWith('!');
                var pattern = Clean(excludes ? line : line[1..].Trim());
                if (pattern.Length > 0)
                {
                    rules._rules.Add((ToRegex(pattern), excludes));
                }
            }

            return rules;
        }

        /// <summary>Whether the build context leaves <paramref name="path"/> (relative, <c>/</c>-separated) out.</summary>
        public bool Excludes(string path)
        {
            var excluded = false;
            foreach (var (pattern, excludes) in _rules)
            {
                if (MatchesOrParentMatches(pattern, path))
                {
                    excluded = excludes;
                }
            }

            return excluded;
        }

        private static bool MatchesOrParentMatches(Regex pattern, string path)
        {
            if (pattern.IsMatch(path))
            {
                return true;
            }

            for (var slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/', slash - 1))
            {
                if (pattern.IsMatch(path[..slash]))
                {
                    return true;
                }
            }

            return false;
        }

        // As filepath.Clean does for the Docker CLI: no leading "/" or "./", no empty or "." segments, no trailing "/".
        private static string Clean(string pattern) =>
            string.Join('/', pattern.Split('/').Where(segment => segment.Length > 0 && segment != "."));

        private static Regex ToRegex(string pattern)
        {
            var regex = new StringBuilder("^");
            for (var i = 0; i < pattern.Length; i++)
            {
                var c = pattern[i];
                if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
                {
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                    {
                        i++;
                        regex.Append("(.*/)?");
                    }
                    else
                    {
                        regex.Append(".*");
                    }
                }
                else if (c == '*')
                {
                    regex.Append("[^/]*");
                }
                else if (c == '?')
                {
                    regex.Append("[^/]");
                }
                else if (c == '[')
                {
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        regex.Append(@"\[");
                        continue;
                    }

                    var set = pattern[(i + 1)..end];
                    regex.Append('[').Append(set.StartsWith('^') ? "^" + set[1..] : set).Append(']');
                    i = end;
                }
                else if (c == '\\' && i + 1 < pattern.Length)
                {
                    regex.Append(Regex.Escape(pattern[++i].ToString()));
                }
                else
                {
                    regex.Append(Regex.Escape(c.ToString()));
                }
            }

            return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
        }
    }
}
