using DataStack.Processing.Ingest;

namespace DataStack.Processing.Tests;

/// <summary>
/// The check after opening a data-folder file: where the open handle really points decides, so a symbolic
/// link swapped in after <see cref="DataFolder.TryResolve"/> accepted the path cannot lead outside.
/// </summary>
public sealed class DataFolderTests : IDisposable
{
    private static readonly FileStreamOptions s_read = new() { Mode = FileMode.Open, Access = FileAccess.Read };

    private readonly string _root = Directory.CreateTempSubdirectory("datastack-folder-").FullName;
    private readonly string _data;
    private readonly string _outside;

    public DataFolderTests()
    {
        _data = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_root, "outside")).FullName;
        File.WriteAllText(Path.Combine(_data, "inside.csv"), "a\n1\n");
        File.WriteAllText(Path.Combine(_outside, "secret.csv"), "secret\n");
        Directory.CreateDirectory(Path.Combine(_data, "sub"));
        File.WriteAllText(Path.Combine(_data, "sub", "x.csv"), "a\n2\n");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void FilesAndLinksThatStayInsideOpen()
    {
        // Arrange
        File.CreateSymbolicLink(Path.Combine(_data, "alias.csv"), "inside.csv");

        // Act
        using var plain = DataFolder.OpenInside(_data, Path.Combine(_data, "inside.csv"), s_read);
        using var alias = DataFolder.OpenInside(_data, Path.Combine(_data, "alias.csv"), s_read);

        // Assert
        Assert.NotNull(plain);
        Assert.NotNull(alias);
        Assert.Equal("a\n1\n", new StreamReader(alias).ReadToEnd());
    }

    [Fact]
    public void AFileOrFolderSwappedForALinkOutsideAfterTheCheckIsRefused()
    {
        // Arrange: both paths pass TryResolve; then the file and the folder become links leading outside.
        var file = Path.Combine(_data, "inside.csv");
        var nested = Path.Combine(_data, "sub", "x.csv");
        Assert.True(DataFolder.TryResolve(_data, "inside.csv", out _, out _));
        Assert.True(DataFolder.TryResolve(_data, "sub/x.csv", out _, out _));
        File.Delete(file);
        File.CreateSymbolicLink(file, Path.Combine(_outside, "secret.csv"));
        Directory.Delete(Path.Combine(_data, "sub"), recursive: true);
        File.WriteAllText(Path.Combine(_outside, "x.csv"), "secret\n");
        Directory.CreateSymbolicLink(Path.Combine(_data, "sub"), _outside);

        // Act
        using var swappedFile = DataFolder.OpenInside(_data, file, s_read);
        using var swappedFolder = DataFolder.OpenInside(_data, nested, s_read);

        // Assert
        Assert.Null(swappedFile);
        Assert.Null(swappedFolder);
    }

    [Fact]
    public void AMissingFileSaysPathsAreRelativeToTheDataFolderAndWhichSettingNamesIt()
    {
        // Act
        var message = DataFolder.MissingFileMessage(_data, "sub/missing.csv");

        // Assert
        Assert.StartsWith("There is no file 'sub/missing.csv' in the data folder.", message, StringComparison.Ordinal);
        Assert.Contains("relative to the data folder", message, StringComparison.Ordinal);
        Assert.Contains("Processing:DataDir", message, StringComparison.Ordinal);
        Assert.Contains("Processing__DataDir", message, StringComparison.Ordinal);
        Assert.DoesNotContain(_data, message, StringComparison.Ordinal);
        Assert.DoesNotContain("Did you mean", message, StringComparison.Ordinal);
    }

    [Fact]
    public void APathThatRepeatsTheFolderNameGetsTheOneThatWasMeant()
    {
        // Act: as written from the repository root, "data/sub/x.csv", where the data folder is "data".
        var message = DataFolder.MissingFileMessage(_data, "data/sub/x.csv");

        // Assert
        Assert.EndsWith("Did you mean 'sub/x.csv'?", message, StringComparison.Ordinal);
    }
}
