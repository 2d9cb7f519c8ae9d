using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

/// <summary>Ingest end to end: HTTP, the job, the CSV dialect, what lands in PostgreSQL (types, catalog, result).</summary>
public sealed class IngestTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Fact]
    public async Task UploadInfersEveryTypeAndStoresTheValues()
    {
        // Arrange
        var name = TestDatasets.NewName("types");
        var csv =
            "flag,n,x,day,at,at_tz,label,nothing\n" +
            "true,1,1.5,2024-02-29,2024-01-01 10:00,2024-01-01T10:00:00+02:00,hello,\n" +
            "FALSE,-9223372036854775808,1e3,0001-01-01,2024-01-02T23:59:59.123456,2024-06-30T23:30:00Z,\"wörld, \"\"quoted\"\"\",\n" +
            ",+42,,,2024-01-03,,,\n";

        // Act
        var job = await app.UploadAndWaitAsync(name, csv);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(
            [
                ["flag", "boolean"], ["n", "bigint"], ["x", "double precision"], ["day", "date"],
                ["at", "timestamp without time zone"], ["at_tz", "timestamp with time zone"], ["label", "text"], ["nothing", "text"],
            ],
            await app.ColumnTypesAsync(name));
        var rows = await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY at");
        Assert.Equal(
            [true, 1L, 1.5, new DateOnly(2024, 2, 29), new DateTime(2024, 1, 1, 10, 0, 0), new DateTime(2024, 1, 1, 8, 0, 0, DateTimeKind.Utc), "hello", null],
            rows[0]);
        Assert.Equal(
            [false, long.MinValue, 1000.0, new DateOnly(1, 1, 1), new DateTime(2024, 1, 2, 23, 59, 59).AddTicks(1_234_560), new DateTime(2024, 6, 30, 23, 30, 0, DateTimeKind.Utc), "wörld, \"quoted\"", null],
            rows[1]);
        Assert.Equal([null, 42L, null, null, new DateTime(2024, 1, 3), null, null, null], rows[2]);
    }

    [Fact]
    public async Task SucceededUploadReportsItsResultAndCatalogEntryAndLeavesNoStagedTable()
    {
        // Arrange
        var name = TestDatasets.NewName("result");
        var csv = "id,name\n1,a\n2,b\n";
        var checksum = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(csv)));

        // Act
        var job = await app.UploadAndWaitAsync(name, csv);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        var result = job.Result!.Value;
        Assert.Equal(name, result.GetProperty("dataset").GetString());
        Assert.Equal(2, result.GetProperty("rows").GetInt64());
        Assert.Equal(csv.Length, result.GetProperty("bytes").GetInt64());
        Assert.Equal("fail", result.GetProperty("mode").GetString());
        Assert.Equal(checksum, result.GetProperty("checksum").GetString());
        Assert.Equal(
            """[{"name":"id","type":"bigint"},{"name":"name","type":"text"}]""",
            JsonSerializer.Serialize(result.GetProperty("columns")));
        Assert.Equal(2, job.Progress.Rows);
        var catalog = await Sql.RowsAsync(
            app.ConnectionString, $"SELECT row_count, source, checksum, job_id, columns::text FROM datastack.datasets WHERE name = '{name}'");
        Assert.Equal([2L, "upload", checksum, job.Id, """[{"name": "id", "type": "bigint"}, {"name": "name", "type": "text"}]"""], catalog.Single());
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task AnUploadsRowsAreStagedByItsRequestAndItsJobOnlySwapsThemIn()
    {
        // Arrange
        var name = TestDatasets.NewName("staged");
        var csv = "id,name,score\n1,a,\n2,b,\n3,c,\n";
        var checksum = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(csv)));

        // Act
        var job = await app.UploadAndWaitAsync(name, csv);

        // Assert: the job carried the staged table (no file), which is now the dataset.
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.False(job.Args.TryGetProperty("path", out _), "an upload's job names no file");
        var staged = job.Args.GetProperty("staged");
        Assert.Matches("^upload-[0-9a-f]{32}$", staged.GetProperty("table").GetString());
        Assert.Equal((3L, (long)csv.Length, checksum), (staged.GetProperty("rows").GetInt64(), staged.GetProperty("bytes").GetInt64(), staged.GetProperty("checksum").GetString()));
        Assert.Equal(new JobProgress(3, csv.Length), job.Progress);
        Assert.Equal([["id", "bigint"], ["name", "text"], ["score", "text"]], await app.ColumnTypesAsync(name));
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task AnUploadJobWhoseStagedTableIsGoneFailsAndChangesNothing()
    {
        // Arrange: an upload job submitted by hand, naming a staged table nobody made.
        var name = TestDatasets.NewName("forged");
        var args = JsonDocument.Parse($$$"""
            {"dataset": "{{{name}}}", "upload": true,
             "staged": {"table": "upload-{{{Guid.NewGuid():N}}}", "rows": 2, "bytes": 8, "checksum": "sha256:00"}}
            """).RootElement;

        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "ingest", args });
        response.EnsureSuccessStatusCode();
        var job = await app.WaitAsync((await response.Content.ReadFromJsonAsync<Job>())!.Id);

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("upload_missing", job.Error?.Code);
        Assert.Null(await app.GetAsync(name));
        Assert.Empty(await app.StagingTablesAsync(name));
    }

    [Fact]
    public async Task BomCrLfAndQuotedLineBreaksAreRead()
    {
        // Arrange
        var name = TestDatasets.NewName("crlf");
        var csv = "\uFEFFid,note\r\n1,\"two\r\nlines\"\r\n2,\"a,b\"\r\n";

        // Act
        var job = await app.UploadAndWaitAsync(name, csv);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([["id", "bigint"], ["note", "text"]], await app.ColumnTypesAsync(name));
        Assert.Equal([[1L, "two\r\nlines"], [2L, "a,b"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY id"));
    }

    [Theory]
    [InlineData(";", ";")]
    [InlineData("tab", "\t")]
    public async Task CustomDelimiterSplitsFields(string query, string delimiter)
    {
        // Arrange
        var name = TestDatasets.NewName("delim");
        var csv = $"id{delimiter}amount\n1{delimiter}2.5\n2{delimiter}\"3{delimiter}5\"\n";

        // Act
        var job = await app.UploadAndWaitAsync(name, csv, $"?delimiter={Uri.EscapeDataString(query)}");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([["id", "bigint"], ["amount", "text"]], await app.ColumnTypesAsync(name));
        Assert.Equal([[1L, "2.5"], [2L, $"3{delimiter}5"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY id"));
    }

    [Fact]
    public async Task WithoutHeaderColumnsAreNumbered()
    {
        // Arrange
        var name = TestDatasets.NewName("nohdr");

        // Act
        var job = await app.UploadAndWaitAsync(name, "1,x\n2,y\n", "?header=false");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([["column_1", "bigint"], ["column_2", "text"]], await app.ColumnTypesAsync(name));
        Assert.Equal([[1L, "x"], [2L, "y"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY 1"));
    }

    [Fact]
    public async Task ColumnNamesAreKeptAsWrittenAndQuoted()
    {
        // Arrange
        var name = TestDatasets.NewName("names");
        var csv = "Id,\"select\",\"a \"\"b\"\"\",Ünï\n1,2,3,4\n";

        // Act
        var job = await app.UploadAndWaitAsync(name, csv);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(
            [["Id", "bigint"], ["select", "bigint"], ["a \"b\"", "bigint"], ["Ünï", "bigint"]],
            await app.ColumnTypesAsync(name));
    }

    [Fact]
    public async Task IngestFromTheDataFolderRecordsTheFileAsSourceAndKeepsTheFile()
    {
        // Arrange
        var name = TestDatasets.NewName("file");
        var path = app.WriteDataFile("sub/file.csv", "a\n1\n");

        // Act
        using var response = await app.Client.PostAsJsonAsync($"/datasets/{name}/ingest", new { path });
        var job = await app.WaitAsync((await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web))!.Id);

        // Assert
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal("file:sub/file.csv", await Sql.ScalarAsync<string>(app.ConnectionString, "SELECT source FROM datastack.datasets WHERE name = $1", name));
        Assert.True(File.Exists(Path.Combine(app.DataDir, path)));
    }

    [Fact]
    public async Task IngestOfAFileThatIsNotThereIs422()
    {
        // Act
        using var response = await app.Client.PostAsJsonAsync($"/datasets/{TestDatasets.NewName("nofile")}/ingest", new { path = "sub/missing.csv" });

        // Assert
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("Paths are relative to the data folder (the setting Processing:DataDir", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
