using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Ingest;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;
using Npgsql;

namespace DataStack.Processing.Tests;

/// <summary>Ingest end to end: HTTP, the job, what lands in PostgreSQL, and what must not.</summary>
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
            await ColumnTypesAsync(name));
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
    public async Task SucceededUploadReportsItsResultAndCatalogEntryAndRemovesTheSpoolFile()
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
        await app.AssertNoSpoolFilesAsync();
    }

    [Fact]
    public async Task UploadIsScannedWhileReceivedSoItsJobReadsTheFileOnce()
    {
        // Arrange
        var name = TestDatasets.NewName("scanned");
        var csv = "id,name,score\n1,a,\n2,b,\n3,c,\n";
        var checksum = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(csv)));

        // Act
        var job = await app.UploadAndWaitAsync(name, csv);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        var scan = job.Args.GetProperty("scan");
        Assert.Equal("""["id","name","score"]""", scan.GetProperty("columns").GetRawText());
        Assert.Equal("""["bigint","text","text"]""", scan.GetProperty("types").GetRawText());
        Assert.Equal("[false,false,true]", scan.GetProperty("allNull").GetRawText());
        Assert.Equal((3L, (long)csv.Length, checksum), (scan.GetProperty("rows").GetInt64(), scan.GetProperty("bytes").GetInt64(), scan.GetProperty("checksum").GetString()));
        Assert.Equal(new JobProgress(3, csv.Length), job.Progress); // one pass over the spool file, not two
        Assert.Equal(checksum, job.Result!.Value.GetProperty("checksum").GetString());
    }

    public static TheoryData<string, string, string, long, int?> ScansTheFileContradicts => new()
    {
        { "fewer rows than the file", """["bigint"]""", "[false]", 1, null },
        { "a type its values do not have", """["boolean"]""", "[false]", 2, 1 },
    };

    [Theory]
    [MemberData(nameof(ScansTheFileContradicts))]
    public async Task AScanInJobArgsIsCheckedAgainstTheFileAndNotTrusted(string problem, string types, string allNull, long rows, int? column)
    {
        // Arrange: an upload job submitted by hand, whose scan does not describe its spool file.
        var name = TestDatasets.NewName("forged");
        var path = app.WriteDataFile($".uploads/{Guid.NewGuid():N}.csv", "a\n1\n2\n");
        var args = JsonDocument.Parse($$$"""
            {"dataset": "{{{name}}}", "path": "{{{path}}}", "upload": true,
             "scan": {"columns": ["a"], "types": {{{types}}}, "allNull": {{{allNull}}}, "rows": {{{rows}}}, "bytes": 8, "checksum": "sha256:00"}}
            """).RootElement;

        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "ingest", args });
        response.EnsureSuccessStatusCode();
        var job = await app.WaitAsync((await response.Content.ReadFromJsonAsync<Job>())!.Id);

        // Assert
        Assert.True(job.Status == JobStatus.Failed, problem);
        Assert.Equal("file_changed", job.Error?.Code);
        Assert.Equal(column, job.Error?.Column);
        Assert.Null(await app.GetAsync(name));
        Assert.Empty(await StagingTablesAsync(name));
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
        Assert.Equal([["id", "bigint"], ["note", "text"]], await ColumnTypesAsync(name));
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
        Assert.Equal([["id", "bigint"], ["amount", "text"]], await ColumnTypesAsync(name));
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
        Assert.Equal([["column_1", "bigint"], ["column_2", "text"]], await ColumnTypesAsync(name));
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
            await ColumnTypesAsync(name));
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

    [Fact]
    public async Task ReplaceSwapsInTheNewDataAndTypes()
    {
        // Arrange
        var name = TestDatasets.NewName("repl");
        await UploadOkAsync(name, "a,b\n1,x\n2,y\n");

        // Act
        var job = await app.UploadAndWaitAsync(name, "a,c\n1.5,2024-01-01\n", "?mode=replace");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([["a", "double precision"], ["c", "date"]], await ColumnTypesAsync(name));
        Assert.Equal([[1.5, new DateOnly(2024, 1, 1)]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        Assert.Equal(1L, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = $1", name));
        Assert.Empty(await StagingTablesAsync(name));
    }

    [Fact]
    public async Task ReplaceThatFailsAfterTheCopyLeavesTheOldDatasetExactlyAsItWas()
    {
        // Arrange: a view on the table makes the final DROP fail, after the new rows were copied.
        var name = TestDatasets.NewName("atomic");
        await UploadOkAsync(name, "a,b\n1,x\n2,y\n");
        await Sql.ExecuteAsync(app.ConnectionString, $"CREATE VIEW public.{name}_v AS SELECT * FROM datasets.{name}");
        var before = await CatalogEntryAsync(name);

        // Act
        var job = await app.UploadAndWaitAsync(name, "a,b\n3,z\n", "?mode=replace");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("dependent_objects", job.Error?.Code);
        Assert.Equal([[1L, "x"], [2L, "y"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY a"));
        Assert.Equal(before, await CatalogEntryAsync(name));
        Assert.Empty(await StagingTablesAsync(name));
        await app.AssertNoSpoolFilesAsync();
    }

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
        await UploadOkAsync(name, "a,b\n1,x\n");
        var before = await CatalogEntryAsync(name);

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, csv, query: "?mode=replace");

        // Assert
        Assert.True(job.Status == JobStatus.Failed, problem);
        Assert.Equal((code, row, column), (job.Error?.Code, job.Error?.Row, job.Error?.Column));
        Assert.Equal(1, job.Attempts);
        Assert.Equal([[1L, "x"]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        Assert.Equal(before, await CatalogEntryAsync(name));
        await app.AssertNoSpoolFilesAsync();
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
        await app.AssertNoSpoolFilesAsync();
    }

    [Fact]
    public async Task AppendAddsRowsWhoseTypesFitTheExistingColumns()
    {
        // Arrange: bigint fits double precision, date fits timestamp, numbers fit text, an all-empty column fits anything.
        var name = TestDatasets.NewName("app");
        await UploadOkAsync(name, "id,x,at,s,b\n1,0.5,2024-01-01 10:00,hello,true\n");

        // Act
        var job = await app.UploadAndWaitAsync(name, "id,x,at,s,b\n2,7,2024-01-02,42,\n", "?mode=append");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(
            [[1L, 0.5, new DateTime(2024, 1, 1, 10, 0, 0), "hello", true], [2L, 7.0, new DateTime(2024, 1, 2), "42", null]],
            await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY id"));
        Assert.Equal(
            [["id", "bigint"], ["x", "double precision"], ["at", "timestamp without time zone"], ["s", "text"], ["b", "boolean"]],
            await ColumnTypesAsync(name));
        Assert.Equal(2L, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = $1", name));
        Assert.Equal(1, job.Result!.Value.GetProperty("rows").GetInt64());
        Assert.Equal("append", job.Result!.Value.GetProperty("mode").GetString());
    }

    [Fact]
    public async Task AppendToAMissingDatasetCreatesIt()
    {
        // Arrange
        var name = TestDatasets.NewName("appnew");

        // Act
        var job = await app.UploadAndWaitAsync(name, "a\n1\n", "?mode=append");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([[1L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
    }

    [Theory]
    [InlineData("id,x\n2,not a number\n", "'x'", 2)]
    [InlineData("id,y\n2,3\n", "column 2", 2)]
    [InlineData("id\n2\n", "column 2", 2)]
    [InlineData("id,x,z\n2,3,4\n", "column 3", 3)]
    [InlineData("x,id\n3,2\n", "column 1", 1)]
    public async Task AppendWithAnotherSchemaFailsAndNamesTheColumn(string csv, string named, int column)
    {
        // Arrange
        var name = TestDatasets.NewName("mism");
        await UploadOkAsync(name, "id,x\n1,5\n");
        var before = await CatalogEntryAsync(name);

        // Act
        var job = await app.UploadAndWaitAsync(name, csv, "?mode=append");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("schema_mismatch", job.Error?.Code);
        Assert.Equal(column, job.Error?.Column);
        Assert.Contains(named, job.Error?.Message, StringComparison.Ordinal);
        Assert.Equal([[1L, 5L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        Assert.Equal(before, await CatalogEntryAsync(name));
    }

    [Fact]
    public async Task ModeFailAnswers409AtSubmitWhenTheDatasetExists()
    {
        // Arrange
        var name = TestDatasets.NewName("exists");
        await UploadOkAsync(name, "a\n1\n");
        using var content = new StringContent("a\n2\n", Encoding.UTF8, "text/csv");

        // Act
        using var response = await app.Client.PutAsync($"/datasets/{name}", content);

        // Assert
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        await app.AssertNoSpoolFilesAsync();
    }

    [Fact]
    public async Task ModeFailEndsExistsWhenTheDatasetAppearedBeforeTheJobRan()
    {
        // Arrange: POST /jobs skips the endpoint's early check, as a job queued before the dataset appeared would.
        var name = TestDatasets.NewName("late");
        await UploadOkAsync(name, "a\n1\n");
        var path = app.WriteDataFile($"{name}.csv", "a\n2\n");

        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "ingest", args = new { dataset = name, path, mode = "fail" } });
        var job = await app.WaitAsync((await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web))!.Id);

        // Assert
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("exists", job.Error?.Code);
        Assert.Equal([[1L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
    }

    [Fact]
    public async Task CancellingARunningIngestLeavesNothingBehind()
    {
        // Arrange: hold the dataset's ingest lock, so the job waits inside its transaction until cancelled.
        var name = TestDatasets.NewName("cancel");
        await using var blocker = new NpgsqlConnection(app.ConnectionString);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('datastack.ingest:' || $1, 0))", blocker))
        {
            lockCommand.Parameters.Add(new() { Value = name });
            await lockCommand.ExecuteNonQueryAsync();
        }

        var queued = await app.UploadAsync(name, "a\n1\n");
        await WaitUntilWaitingForTheLockAsync(name);

        // Act
        using var cancel = await app.Client.PostAsync($"/jobs/{queued.Id}/cancel", null);
        var job = await app.WaitAsync(queued.Id);

        // Assert
        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.Null(await Sql.ScalarAsync<string>(app.ConnectionString, "SELECT to_regclass($1)::text", $"datasets.{name}"));
        Assert.Empty(await StagingTablesAsync(name));
        await app.AssertNoSpoolFilesAsync();
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
        await app.AssertNoSpoolFilesAsync();
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
            new { kind = "ingest", args = new { dataset = "ok", path, scan = new { columns = new[] { "a" }, types = new[] { "bigint" }, allNull = new[] { false }, rows = 1, bytes = 4, checksum = "sha256:00" } } },
            new { kind = "ingest", args = new { dataset = "ok", path = ".uploads/x.csv", upload = true, scan = new { columns = new[] { "a" }, types = Array.Empty<string>(), rows = 1, bytes = 4, checksum = "sha256:00" } } },
        ];
        string[] keys = ["args.delimiter", "args.delimiter", "args.mode", "args.path", "args.path", "args.scan", "args.scan"];

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
    public async Task OversizedUploadIs413AndLeavesNoSpoolFile()
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
            var uploads = Path.Combine(small.DataDir, ".uploads");
            Assert.Empty(Directory.Exists(uploads) ? Directory.GetFiles(uploads) : []);
        }
        finally
        {
            await small.DisposeAsync();
        }
    }

    private async Task UploadOkAsync(string name, string csv)
    {
        var job = await app.UploadAndWaitAsync(name, csv);
        Assert.True(job.Status == JobStatus.Succeeded, $"Setting up {name} failed: {job.Error?.Code} {job.Error?.Message}");
    }

    /// <summary>Each column's name and type, as PostgreSQL reports them, in order.</summary>
    private async Task<List<object?[]>> ColumnTypesAsync(string name) => await Sql.RowsAsync(
        app.ConnectionString,
        $"SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'datasets' AND table_name = '{name}' ORDER BY ordinal_position");

    private async Task<object?[]> CatalogEntryAsync(string name) => (await Sql.RowsAsync(
        app.ConnectionString,
        $"SELECT columns::text, row_count, source, checksum, created_at, updated_at, job_id FROM datastack.datasets WHERE name = '{name}'")).Single();

    private async Task<List<object?[]>> StagingTablesAsync(string name) => await Sql.RowsAsync(
        app.ConnectionString,
        $"SELECT tablename::text FROM pg_tables WHERE schemaname = 'datasets' AND tablename LIKE '{name}\\_\\_ingest\\_%'");


    private async Task WaitUntilWaitingForTheLockAsync(string name)
    {
        for (var i = 0; i < 300; i++)
        {
            var waiting = await Sql.ScalarAsync<long>(
                app.ConnectionString,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = (hashtextextended('datastack.ingest:' || $1, 0) & 4294967295)::oid",
                name);
            if (waiting > 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail("The ingest job never waited for the dataset's lock.");
    }

    /// <summary>A body without a known length, so the client sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
