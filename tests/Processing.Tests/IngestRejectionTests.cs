using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using DataStack.Processing.Ingest.Csv;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

/// <summary>What ingest refuses: malformed CSV fails the job naming row and column; bad requests are 400, 413, 415 or 422.</summary>
public sealed class IngestRejectionTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    public static TheoryData<string, byte[], string, long?, int?> BadInputs => new()
    {
        { "unterminated quote", "a,b\n1,2\n3,\"open\n"u8.ToArray(), "unterminated_quote", 3, 2 },
        { "text after a closing quote", "a,b\n\"x\"y,2\n"u8.ToArray(), "text_after_quote", 2, 1 },
        { "ragged row", "a,b\n1,2\n3,4,5\n"u8.ToArray(), "ragged_row", 3, 3 },
        { "invalid UTF-8", [.. "a,b\n1,2\n3,x"u8, 0xFF, .. "\n"u8], "invalid_utf8", 3, 2 },
        { "empty file", [], "empty", null, null },
        { "header only", "a,b\n"u8.ToArray(), "empty", 2, null },
        { "duplicate column names", "a,b,a\n1,2,3\n"u8.ToArray(), "duplicate_column", 1, 3 },
        { "empty column name", "a,,c\n1,2,3\n"u8.ToArray(), "empty_column_name", 1, 2 },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task BadInputFailsTheJobWithRowAndColumnAndLeavesTheDatasetUntouched(
        string problem, byte[] csv, string code, long? row, int? column)
    {
        // Arrange
        var name = TestDatasets.NewName("bad");
        await app.UploadOkAsync(name, "a,b\n1,x\n");
        var before = await app.CatalogEntryAsync(name);

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, csv, query: "?mode=replace");

        // Assert
        Assert.True(job.Status == JobStatus.Failed, problem);
        Assert.Equal((code, row, column), (job.Error?.Code, job.Error?.Row, job.Error?.Column));
        Assert.Equal(1, job.Attempts);
        Assert.Equal([[1L, "x"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        Assert.Equal(before, await app.CatalogEntryAsync(name));
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task FieldOverTheSizeLimitFailsTheJob()
    {
        // Arrange
        var name = TestDatasets.NewName("huge");
        var csv = Encoding.ASCII.GetBytes($"a,b\n1,{new string('x', CsvReader.MaxFieldBytes + 1)}\n");

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, csv);

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(("field_too_large", 2L, 2), (job.Error?.Code, job.Error?.Row, job.Error?.Column));
        Assert.Null(await Sql.ScalarAsync<string>(app.ConnectionString, "SELECT name FROM datastack.datasets WHERE name = $1", name));
        await app.AssertNoAsideTablesAsync();
    }

    [Theory]
    [InlineData(";;")]
    [InlineData("§")]
    [InlineData("\"")]
    public async Task InvalidDelimiterIs400(string delimiter)
    {
        // Arrange
        using var content = new StringContent("a\n1\n", Encoding.UTF8, "text/csv");

        // Act
        using var response = await app.Client.PutAsync($"/datasets/{TestDatasets.NewName("dl")}?delimiter={Uri.EscapeDataString(delimiter)}", content);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("delimiter", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task WrongContentTypeIs415()
    {
        // Arrange
        using var content = new StringContent("a\n1\n", Encoding.UTF8, "application/json");

        // Act
        using var response = await app.Client.PutAsync($"/datasets/{TestDatasets.NewName("ct")}", content);

        // Assert
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Theory]
    [InlineData("a;drop table x")]
    [InlineData("\"x\"")]
    [InlineData("Robert'); --")]
    [InlineData("Upper")]
    [InlineData("1abc")]
    [InlineData("a-b")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task InvalidDatasetNamesAre400(string name)
    {
        // Arrange
        using var content = new StringContent("a\n1\n", Encoding.UTF8, "text/csv");
        var path = Uri.EscapeDataString(name);

        // Act
        using var upload = await app.Client.PutAsync($"/datasets/{path}", content);
        using var ingest = await app.Client.PostAsJsonAsync($"/datasets/{path}/ingest", new { path = "x.csv" });
        using var job = await app.Client.PostAsJsonAsync("/jobs", new { kind = "ingest", args = new { dataset = name, path = "x.csv" } });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, upload.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, ingest.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, job.StatusCode);
        Assert.Contains("args.dataset", await job.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SixtyThreeCharacterNameIsAccepted()
    {
        // Arrange: the longest name; its staging table name must still fit PostgreSQL's 63 bytes.
        var name = "n" + Guid.NewGuid().ToString("N") + new string('x', 30);

        // Act
        var job = await app.UploadAndWaitAsync(name, "a\n1\n");

        // Assert
        Assert.Equal(63, name.Length);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([[1L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
    }

    [Theory]
    [InlineData("../outside.csv")]
    [InlineData("sub/../../outside.csv")]
    [InlineData("/etc/passwd")]
    [InlineData("link/passwd")]
    public async Task PathsThatLeaveTheDataFolderAre400(string path)
    {
        // Arrange: "link" is a symbolic link inside the data folder to a folder outside it.
        var outside = Directory.CreateTempSubdirectory("datastack-outside-").FullName;
        File.WriteAllText(Path.Combine(outside, "passwd"), "a\n1\n");
        var link = Path.Combine(app.DataDir, "link");
        if (!Directory.Exists(link))
        {
            Directory.CreateSymbolicLink(link, outside);
        }

        // Act
        using var ingest = await app.Client.PostAsJsonAsync($"/datasets/{TestDatasets.NewName("esc")}/ingest", new { path });
        using var job = await app.Client.PostAsJsonAsync("/jobs", new { kind = "ingest", args = new { dataset = TestDatasets.NewName("esc"), path } });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, ingest.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, job.StatusCode);
        Assert.Contains("args.path", await job.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobArgumentsAreValidatedAtSubmit()
    {
        // Arrange
        var path = app.WriteDataFile("valid.csv", "a\n1\n");
        object[] requests =
        [
            new { kind = "ingest", args = new { dataset = "ok", path, delimiter = ";;" } },
            new { kind = "ingest", args = new { dataset = "ok", path, delimiter = "§" } },
            new { kind = "ingest", args = new { dataset = "ok", path, mode = "merge" } },
            new { kind = "ingest", args = new { dataset = "ok", path, upload = true } },
            new { kind = "ingest", args = new { dataset = "ok" } },
            new { kind = "ingest", args = new { dataset = "ok", path, staged = new { table = $"upload-{Guid.NewGuid():N}", rows = 1, bytes = 4, checksum = "sha256:00" } } },
            new { kind = "ingest", args = new { dataset = "ok", upload = true, staged = new { table = "ok", rows = 1, bytes = 4, checksum = "sha256:00" } } },
            new { kind = "ingest", args = new { dataset = "ok", upload = true } },
        ];
        string[] keys = ["args.delimiter", "args.delimiter", "args.mode", "args.path", "args.path", "args.upload", "args.staged", "args.staged"];

        for (var i = 0; i < requests.Length; i++)
        {
            // Act
            using var response = await app.Client.PostAsJsonAsync("/jobs", requests[i]);

            // Assert
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(keys[i], await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.True(File.Exists(Path.Combine(app.DataDir, path)));
    }

    [Fact]
    public async Task OversizedUploadIs413AndLeavesNoStagedTable()
    {
        // Arrange: an app of its own, with a 100-byte limit.
        var small = new ProcessingApp().With("Processing:MaxUploadBytes", "100");
        await small.InitializeAsync();
        try
        {
            var body = Encoding.UTF8.GetBytes("a\n" + string.Concat(Enumerable.Repeat("12345\n", 100)));
            using var known = new ByteArrayContent(body);
            known.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            using var chunked = new StreamContent(new NonSeekableStream(body));
            chunked.Headers.ContentType = new MediaTypeHeaderValue("text/csv");

            // Act
            using var withLength = await small.Client.PutAsync($"/datasets/{TestDatasets.NewName("big")}", known);
            using var withoutLength = await small.Client.PutAsync($"/datasets/{TestDatasets.NewName("big")}", chunked);

            // Assert
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withLength.StatusCode);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withoutLength.StatusCode);
            await small.AssertNoAsideTablesAsync();
        }
        finally
        {
            await small.DisposeAsync();
        }
    }

    [Fact]
    public async Task WithoutADataFolderUploadsLandAndFileIngestsAre422NamingTheSetting()
    {
        // Arrange: an app whose data folder does not exist, as in a deployment that mounts none.
        var missing = Path.Combine(Path.GetTempPath(), $"datastack-no-data-{Guid.NewGuid():N}");
        var bare = new ProcessingApp().With("Processing:DataDir", missing);
        await bare.InitializeAsync();
        try
        {
            var name = TestDatasets.NewName("nodata");

            // Act
            var upload = await bare.UploadAndWaitAsync(name, "a\n1\n2\n");
            using var ingest = await bare.Client.PostAsJsonAsync($"/datasets/{name}_file/ingest", new { path = "samples/trips.csv" });
            var body = await ingest.Content.ReadAsStringAsync();
            using var job = await bare.Client.PostAsJsonAsync("/jobs", new { kind = "ingest", args = new { dataset = name, path = "samples/trips.csv" } });
            var jobBody = await job.Content.ReadAsStringAsync();

            // Assert
            Assert.Equal(JobStatus.Succeeded, upload.Status);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, ingest.StatusCode);
            Assert.Equal("application/problem+json", ingest.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Processing:DataDir", body, StringComparison.Ordinal);
            Assert.DoesNotContain(missing, body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.BadRequest, job.StatusCode);
            Assert.Contains("Processing:DataDir", jobBody, StringComparison.Ordinal);
            Assert.False(Directory.Exists(missing), "an upload created the data folder");
        }
        finally
        {
            await bare.DisposeAsync();
        }
    }

    /// <summary>A body without a known length, so the client sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
