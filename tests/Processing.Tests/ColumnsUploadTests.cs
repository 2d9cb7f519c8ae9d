using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

/// <summary>
/// <c>PUT /datasets/{name}</c> with a body in the columns format (docs/columns-format.md), built here byte by
/// byte from the document, not by the server's code.
/// </summary>
public sealed class ColumnsUploadTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    private const string ContentType = "application/vnd.datastack.columns";

    [Fact]
    public async Task EveryTypeAndNullLandsAsDeclaredAcrossBatches()
    {
        // Arrange: two batches (2 rows, then 1), every type, a NULL in every column.
        var name = TestDatasets.NewName("cols");
        var body = new ColumnsBody(("flag", "boolean"), ("n", "bigint"), ("x", "double precision"), ("day", "date"),
                ("at", "timestamp"), ("at_tz", "timestamptz"), ("label", "text"))
            .Batch(
                C(Bools(true, false), false, true), C(Int64s(long.MinValue, 42), false, false), C(Doubles(1.5, double.PositiveInfinity), false, false),
                C(Int32s(-719162, 19782), false, false), C(Int64s(-62135596800000000, 1704103200123456), false, false),
                C(Int64s(0, 1719790200000000), false, false), C(Text("wörld, \"quoted\"\nline", ""), false, false))
            .Batch(
                C(Bools(false), true), C(Int64s(0), true), C(Doubles(0), true), C(Int32s(0), true), C(Int64s(0), true), C(Int64s(0), true), C(Text(""), true))
            .End();

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, body, ContentType);

        // Assert
        Assert.True(job.Status == JobStatus.Succeeded, job.Error?.Message);
        Assert.Equal("columns", job.Args.GetProperty("format").GetString());
        Assert.Equal(
            """[{"name":"flag","type":"boolean"},{"name":"n","type":"bigint"},{"name":"x","type":"double precision"},{"name":"day","type":"date"},{"name":"at","type":"timestamp"},{"name":"at_tz","type":"timestamptz"},{"name":"label","type":"text"}]""",
            JsonSerializer.Serialize(job.Result!.Value.GetProperty("columns")));
        Assert.Equal("xxh128:" + Convert.ToHexStringLower(System.IO.Hashing.XxHash128.Hash(body)), job.Result!.Value.GetProperty("checksum").GetString());
        Assert.Equal(body.Length, job.Result!.Value.GetProperty("bytes").GetInt64());
        var rows = await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY n NULLS LAST");
        Assert.Equal(
            [
                [true, long.MinValue, 1.5, new DateOnly(1, 1, 1), new DateTime(1, 1, 1), new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc), "wörld, \"quoted\"\nline"],
                [null, 42L, double.PositiveInfinity, new DateOnly(2024, 2, 29), new DateTime(2024, 1, 1, 10, 0, 0).AddTicks(1_234_560), new DateTime(2024, 6, 30, 23, 30, 0, DateTimeKind.Utc), ""],
                [null, null, null, null, null, null, null],
            ],
            rows);
        Assert.Equal(3L, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT row_count FROM datastack.datasets WHERE name = $1", name));
        await app.AssertNoAsideTablesAsync();
    }

    public static TheoryData<string, byte[], string, long?, int?> BadBodies => new()
    {
        { "wrong magic", [.. "DSCOLS02"u8, 2, 0, 0, 0, .. "{}"u8], "invalid_columns", null, null },
        { "unknown type", new ColumnsBody(("a", "integer")).End(), "invalid_columns", null, 1 },
        { "duplicate names", new ColumnsBody(("a", "bigint"), ("a", "text")).End(), "duplicate_column", null, 2 },
        { "no rows", new ColumnsBody(("a", "bigint")).End(), "empty", null, null },
        { "no end marker", new ColumnsBody(("a", "bigint")).Batch(C(Int64s(1), false)).Bytes(), "invalid_columns", null, null },
        { "bytes after the end", [.. new ColumnsBody(("a", "bigint")).Batch(C(Int64s(1), false)).End(), 1], "invalid_columns", null, null },
        { "a text block with one value too few", new ColumnsBody(("a", "text")).Batch(C(Text("x", "y"), false, false, false)).End(), "invalid_columns", null, 1 },
        { "a text value with a 0x00", new ColumnsBody(("a", "text")).Batch(C(Text("x\0y"), false)).End(), "invalid_columns", null, 1 },
        {
            "invalid UTF-8",
            new ColumnsBody(("a", "bigint"), ("b", "text")).Batch(C(Int64s(1), false), C(Text("ok"), false)).Batch(C(Int64s(2), false), C([1, 0, 0, 0, 0xFF], false)).End(),
            "invalid_columns", null, 2
        },
        { "a boolean that is 2", new ColumnsBody(("a", "boolean")).Batch(C([1, 2], false, false)).End(), "invalid_columns", 2, 1 },
        { "a date past 9999", new ColumnsBody(("a", "bigint"), ("d", "date")).Batch(C(Int64s(1), false), C(Int32s(2932897), false)).End(), "invalid_columns", 1, 2 },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task BadBodiesFailTheJobAndLeaveTheDatasetUntouched(string problem, byte[] body, string code, long? row, int? column)
    {
        // Arrange
        var name = TestDatasets.NewName("badcols");
        Assert.Equal(JobStatus.Succeeded, (await app.UploadAndWaitAsync(name, "a\n7\n")).Status);

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, body, ContentType, "?mode=replace");

        // Assert
        Assert.True(job.Status == JobStatus.Failed, problem);
        Assert.Equal((code, row, column), (job.Error?.Code, job.Error?.Row, job.Error?.Column));
        Assert.Equal([[7L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task AppendConvertsWhatFitsAndNamesTheFirstValueThatDoesNot()
    {
        // Arrange: a dataset of double, timestamp, text and bigint columns.
        var name = TestDatasets.NewName("appcols");
        Assert.Equal(JobStatus.Succeeded, (await app.UploadAndWaitAsync(name, "x,at,note,n\n0.5,2024-01-01T00:00:00,a,1\n")).Status);
        var fits = new ColumnsBody(("x", "bigint"), ("at", "date"), ("note", "double precision"), ("n", "double precision"))
            .Batch(C(Int64s(3), false), C(Int32s(19723), false), C(Doubles(2.5), false), C(Doubles(0), true))
            .End();
        var doesNot = new ColumnsBody(("x", "bigint"), ("at", "date"), ("note", "text"), ("n", "double precision"))
            .Batch(C(Int64s(4, 5), false, false), C(Int32s(0, 0), false, false), C(Text("b", "c"), false, false), C(Doubles(0, 9.5), true, false))
            .End();

        // Act
        var appended = await app.UploadBytesAndWaitAsync(name, fits, ContentType, "?mode=append");
        var refused = await app.UploadBytesAndWaitAsync(name, doesNot, ContentType, "?mode=append");

        // Assert: bigint → double, date → timestamp, double → text; an all-NULL double column fits bigint.
        Assert.True(appended.Status == JobStatus.Succeeded, appended.Error?.Message);
        Assert.Equal(
            [[0.5, new DateTime(2024, 1, 1), "a", 1L], [3.0, new DateTime(2024, 1, 1), "2.5", null]],
            await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY x"));
        Assert.Equal(JobStatus.Failed, refused.Status);
        Assert.Equal(("schema_mismatch", 2L, 4), (refused.Error?.Code, refused.Error?.Row, refused.Error?.Column));
        Assert.Equal(2L, await Sql.ScalarAsync<long>(app.ConnectionString, $"SELECT count(*) FROM datasets.{name}"));
    }

    [Fact]
    public async Task AReplaceIsCopiedWhileReceivedAndItsStagedTableIsSwappedIn()
    {
        // Arrange
        var name = TestDatasets.NewName("stagecols");
        Assert.Equal(JobStatus.Succeeded, (await app.UploadAndWaitAsync(name, "a\n7\n")).Status);
        var body = new ColumnsBody(("a", "bigint")).Batch(C(Int64s(1, 2), false, false)).Batch(C(Int64s(3), false)).End();

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, body, ContentType, "?mode=replace");

        // Assert: the job swapped in the table the upload had filled, and nothing staged is left over.
        Assert.True(job.Status == JobStatus.Succeeded, job.Error?.Message);
        Assert.Equal(3L, job.Args.GetProperty("staged").GetProperty("rows").GetInt64());
        Assert.Equal([[1L], [2L], [3L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name} ORDER BY a"));
        Assert.Equal(0L, await StagedTablesAsync(job));
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task AStagedUploadIsWrittenFrozenSoVacuumSkipsItsPages()
    {
        // Arrange: 20,000 rows, over a hundred pages (VACUUM reads runs of fewer than 32 skippable pages anyway).
        var name = TestDatasets.NewName("stagefrozen");
        var values = Enumerable.Range(1, 20_000).Select(i => (long)i).ToArray();
        var body = new ColumnsBody(("a", "bigint"), ("b", "bigint")).Batch(C(Int64s(values), new bool[values.Length]), C(Int64s(values), new bool[values.Length])).End();

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, body, ContentType, "?mode=replace");
        var (remain, scanned) = await app.VacuumPagesAsync(name);

        // Assert
        Assert.True(job.Status == JobStatus.Succeeded, job.Error?.Message);
        Assert.True(job.Args.TryGetProperty("staged", out _), "the upload was not copied while received");
        Assert.True(remain > 64, $"{remain} pages");
        Assert.True(scanned <= 1, $"VACUUM scanned {scanned} of {remain} pages of a freshly uploaded table");
    }

    [Fact]
    public async Task AStagedUploadWhoseJobFailsLeavesTheDatasetAndNoStagedTable()
    {
        // Arrange: a view depends on the dataset, so replacing it fails at the swap, after the rows were copied.
        var name = TestDatasets.NewName("stagefail");
        Assert.Equal(JobStatus.Succeeded, (await app.UploadAndWaitAsync(name, "a\n7\n")).Status);
        await Sql.ExecuteAsync(app.ConnectionString, $"CREATE VIEW public.{name}_view AS SELECT * FROM datasets.{name}");
        var body = new ColumnsBody(("a", "bigint")).Batch(C(Int64s(1), false)).End();

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, body, ContentType, "?mode=replace");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("dependent_objects", job.Error?.Code);
        Assert.True(job.Args.TryGetProperty("staged", out _), "the upload was not staged, so this test checked nothing");
        Assert.Equal([[7L]], await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.{name}"));
        Assert.Equal(0L, await StagedTablesAsync(job));
        await app.AssertNoAsideTablesAsync();
    }

    [Fact]
    public async Task AnUploadCutOffMidBodyLeavesNoJobNoStagedTableAndNoSpoolFile()
    {
        // Arrange: the client sends the header and a batch (so the COPY has started), then fails mid-body.
        var name = TestDatasets.NewName("stagecut");
        var start = new ColumnsBody(("a", "bigint")).Batch(C(Int64s(1, 2), false, false)).Bytes();
        using var content = new StreamContent(new FailingAfterStream(start));
        content.Headers.ContentType = new(ContentType);

        // Act
        await Assert.ThrowsAnyAsync<Exception>(() => app.Client.PutAsync($"/datasets/{name}?mode=replace", content));

        // Assert: nothing queued, nothing staged, nothing spooled.
        Assert.Equal(0L, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM datastack.jobs WHERE args->>'dataset' = $1", name));
        Assert.Equal(0L, await Sql.ScalarAsync<long>(
            app.ConnectionString,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'datasets' AND c.relname LIKE 'upload-%'"));
        await app.AssertNoAsideTablesAsync();
    }

    private async Task<long> StagedTablesAsync(Job job) =>
        await Sql.ScalarAsync<long>(
            app.ConnectionString,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'datasets' AND c.relname = $1",
            job.Args.GetProperty("staged").GetProperty("table").GetString()!);

    /// <summary>One column of a batch: its value bytes and a NULL flag per row.</summary>
    private static (bool[] Nulls, byte[] Values) C(byte[] values, params bool[] nulls) => (nulls, values);

    private static byte[] Bools(params bool[] values) => [.. values.Select(v => v ? (byte)1 : (byte)0)];

    private static byte[] Int32s(params int[] values) => Fixed(values, 4, (span, v) => BinaryPrimitives.WriteInt32LittleEndian(span, v));

    private static byte[] Int64s(params long[] values) => Fixed(values, 8, (span, v) => BinaryPrimitives.WriteInt64LittleEndian(span, v));

    private static byte[] Doubles(params double[] values) => Fixed(values, 8, (span, v) => BinaryPrimitives.WriteDoubleLittleEndian(span, v));

    private static byte[] Fixed<T>(T[] values, int width, SpanAction<T> write)
    {
        var bytes = new byte[values.Length * width];
        for (var i = 0; i < values.Length; i++)
        {
            write(bytes.AsSpan(i * width, width), values[i]);
        }

        return bytes;
    }

    private static byte[] Text(params string[] values)
    {
        var text = Encoding.UTF8.GetBytes(string.Join('\0', values));
        return [.. Fixed([(uint)text.Length], 4, (span, v) => BinaryPrimitives.WriteUInt32LittleEndian(span, v)), .. text];
    }

    private delegate void SpanAction<in T>(Span<byte> span, T value);

    /// <summary>A columns-format body: the header, then batches of (NULL flags, then each column's value bytes).</summary>
    private sealed class ColumnsBody
    {
        private readonly List<byte> _bytes = [.. "DSCOLS01"u8];
        private readonly int _columns;

        public ColumnsBody(params (string Name, string Type)[] columns)
        {
            _columns = columns.Length;
            var json = JsonSerializer.SerializeToUtf8Bytes(new { columns = columns.Select(c => new { name = c.Name, type = c.Type }) });
            AddUInt32((uint)json.Length);
            _bytes.AddRange(json);
        }

        public ColumnsBody Batch(params (bool[] Nulls, byte[] Values)[] columns)
        {
            Assert.Equal(_columns, columns.Length);
            AddUInt32((uint)columns[0].Nulls.Length);
            foreach (var (nulls, values) in columns)
            {
                _bytes.AddRange(nulls.Select(n => n ? (byte)1 : (byte)0));
                _bytes.AddRange(values);
            }

            return this;
        }

        public byte[] End()
        {
            AddUInt32(0);
            return Bytes();
        }

        public byte[] Bytes() => [.. _bytes];

        private void AddUInt32(uint value)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            _bytes.AddRange(bytes);
        }
    }

    /// <summary>A request body that yields <c>start</c> and then breaks, as a client that dies mid-upload.</summary>
    private sealed class FailingAfterStream(byte[] start) : MemoryStream(start)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await base.ReadAsync(buffer, cancellationToken);
            return read > 0 ? read : throw new IOException("The client went away mid-upload.");
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = base.Read(buffer, offset, count);
            return read > 0 ? read : throw new IOException("The client went away mid-upload.");
        }
    }
}
