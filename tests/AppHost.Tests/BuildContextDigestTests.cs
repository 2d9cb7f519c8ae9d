namespace DataStack.AppHost.Tests;

/// <summary>
/// The digest that names a Dockerfile resource's image (the AppHost builds it only when the digest is new): it must
/// change with everything <c>docker build</c> reads, and only with that. Works on a build context in a temp folder.
/// </summary>
public sealed class BuildContextDigestTests : IDisposable
{
    private const string BaseImageId = "sha256:0123456789abcdef";

    private readonly DirectoryInfo _context = Directory.CreateTempSubdirectory("datastack-digest-");

    public void Dispose() => _context.Delete(recursive: true);

    [Fact]
    public void DigestChangesWhenAFileTheBuildCopiesChanges()
    {
        // Arrange
        Write("Dockerfile", "FROM base\nCOPY . /app\n");
        Write("pkg/module.py", "x = 1\n");
        var before = Digest();

        // Act
        Write("pkg/module.py", "x = 2\n");

        // Assert
        Assert.NotEqual(before, Digest());
    }

    [Fact]
    public void DigestChangesWhenAFileIsAddedOrMadeExecutable()
    {
        // Arrange
        Write("Dockerfile", "FROM base\n");
        Write("run.sh", "echo hi\n");
        var before = Digest();

        // Act
        Write("extra.txt", "");
        var added = Digest();
        var madeExecutable = added;
        if (!OperatingSystem.IsWindows()) // Windows has no mode bits, and the digest leaves them out there
        {
            File.SetUnixFileMode(Path.Combine(_context.FullName, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            madeExecutable = Digest();
        }

        // Assert
        Assert.NotEqual(before, added);
        Assert.True(OperatingSystem.IsWindows() || madeExecutable != added, "making run.sh executable did not change the digest");
    }

    [Fact]
    public void DigestStaysWhenOnlyFilesTheDockerignoreLeavesOutChange()
    {
        // Arrange: the rules of Jupyter/.dockerignore.
        Write(".dockerignore", "**/__pycache__\n**/*.pyc\nnotebooks/\n");
        Write("Dockerfile", "FROM base\n");
        Write("pkg/module.py", "x = 1\n");
        var before = Digest();

        // Act
        Write("notebooks/01-getting-started.ipynb", "{}");
        Write("pkg/__pycache__/module.cpython-311.pyc", "bytecode");
        Write("stray.pyc", "bytecode");

        // Assert
        Assert.Equal(before, Digest());
    }

    [Fact]
    public void DigestChangesWithTheBaseImageTheStageAndTheBuildArguments()
    {
        // Arrange
        Write("Dockerfile", "FROM base\n");
        var digest = Digest();

        // Act
        var otherBase = BuildContextDigest.Compute(_context.FullName, Path.Combine(_context.FullName, "Dockerfile"), null, [], "sha256:fedcba");
        var otherStage = BuildContextDigest.Compute(_context.FullName, Path.Combine(_context.FullName, "Dockerfile"), "runner", [], BaseImageId);
        var otherArgument = BuildContextDigest.Compute(_context.FullName, Path.Combine(_context.FullName, "Dockerfile"), null, [KeyValuePair.Create("PIP_INDEX_URL", "none")], BaseImageId);

        // Assert
        Assert.Equal(4, new[] { digest, otherBase, otherStage, otherArgument }.Distinct().Count());
    }

    [Theory]
    [InlineData("notebooks/", "notebooks/a.ipynb", true)]
    [InlineData("notebooks/", "pkg/notebooks/a.ipynb", false)] // anchored at the context's root, unlike .gitignore
    [InlineData("/notebooks", "notebooks/a.ipynb", true)]
    [InlineData("**/__pycache__", "__pycache__/x.pyc", true)]
    [InlineData("**/__pycache__", "a/b/__pycache__/x.pyc", true)]
    [InlineData("**/*.pyc", "x.pyc", true)]
    [InlineData("*.pyc", "a/x.pyc", false)] // '*' stops at '/'
    [InlineData("a/*/c", "a/b/c", true)]
    [InlineData("a/*/c", "a/b/b/c", false)]
    [InlineData("a/**/c", "a/b/b/c", true)]
    [InlineData("docs/**", "docs/x/y.md", true)]
    [InlineData("file?.txt", "file1.txt", true)]
    [InlineData("file[0-9].txt", "filex.txt", false)]
    public void IgnoreRulesMatchAsDockerDoes(string pattern, string path, bool excluded)
    {
        // Act
        var rules = BuildContextDigest.IgnoreRules.Parse([pattern]);

        // Assert
        Assert.Equal(excluded, rules.Excludes(path));
    }

    [Fact]
    public void TheLastMatchingIgnoreRuleWinsSoAnExceptionPutsAFileBack()
    {
        // Act
        var rules = BuildContextDigest.IgnoreRules.Parse(["# comment", "*.md", "!README.md", ""]);

        // Assert
        Assert.True(rules.Excludes("CHANGES.md"));
        Assert.False(rules.Excludes("README.md"));
    }

    private string Digest() =>
        BuildContextDigest.Compute(_context.FullName, Path.Combine(_context.FullName, "Dockerfile"), null, [], BaseImageId);

    private void Write(string relativePath, string content)
    {
        var path = Path.Combine(_context.FullName, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }
}
