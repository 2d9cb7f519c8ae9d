using System.Security.Cryptography;
using System.Text;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Ingest.Csv;

namespace DataStack.Processing.Tests;

/// <summary>The CSV reader, the value parsers and type inference, without a database.</summary>
public sealed class CsvParsingTests
{
    // A tiny buffer and a stream that yields one byte per read make every record straddle buffer refills.
    public static TheoryData<int> Reads => new() { 1, 7, 1 << 20 };

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task QuotedFieldsKeepDelimitersQuotesAndLineBreaks(int bytesPerRead)
    {
        // Arrange
        var csv = "a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"line1\nline2\"\n\"\",plain,\"\"\"\"\n";

        // Act
        var records = await ReadAllAsync(csv, bytesPerRead: bytesPerRead);

        // Assert
        Assert.Equal(
            [["a", "b", "c"], ["x,y", "say \"hi\"", "line1\nline2"], ["", "plain", "\""]],
            records);
    }

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task CrLfLoneCrAndLfEndRecordsAndTheBomIsSkipped(int bytesPerRead)
    {
        // Arrange
        var csv = "\uFEFFa,b\r\n1,2\r\n3,\"4\r\n5\"\r6,7\n8,9";

        // Act
        var records = await ReadAllAsync(csv, bytesPerRead: bytesPerRead);

        // Assert
        Assert.Equal([["a", "b"], ["1", "2"], ["3", "4\r\n5"], ["6", "7"], ["8", "9"]], records);
    }

    [Fact]
    public async Task BlankLinesAreSkippedButCountAsRecords()
    {
        // Arrange
        var csv = "a,b\n\n1,2\r\n\r\n3,4\n\n";
        using var reader = new CsvReader(new MemoryStream(Encoding.UTF8.GetBytes(csv)));
        var numbers = new List<long>();

        // Act
        while (await reader.ReadAsync(CancellationToken.None))
        {
            numbers.Add(reader.RecordNumber);
        }

        // Assert
        Assert.Equal([1L, 3L, 5L], numbers);
    }

    [Theory]
    [InlineData(';')]
    [InlineData('\t')]
    [InlineData('|')]
    public async Task CustomDelimitersSplitFields(char delimiter)
    {
        // Arrange
        var csv = $"a{delimiter}b\n1,5{delimiter}\"x{delimiter}y\"\n";

        // Act
        var records = await ReadAllAsync(csv, delimiter);

        // Assert
        Assert.Equal([["a", "b"], ["1,5", $"x{delimiter}y"]], records);
    }

    [Fact]
    public async Task TrailingDelimiterMakesAnEmptyLastField()
    {
        // Arrange
        var csv = "a,b\n1,\n";

        // Act
        var records = await ReadAllAsync(csv);

        // Assert
        Assert.Equal([["a", "b"], ["1", ""]], records);
    }

    [Theory]
    [InlineData("a,b\n1,\"open\n", "unterminated_quote", 2, 2)]
    [InlineData("a,b\n\"x\"y,2\n", "text_after_quote", 2, 1)]
    [InlineData("a,b\n1,2\n3,4,5\n", "ragged_row", 3, 3)]
    [InlineData("a,b,c\n1,2,3\n4,5\n", "ragged_row", 3, 3)]
    [InlineData("a,b\n1,2\n\"multi\nline\",x\n5\n", "ragged_row", 4, 2)]
    public async Task MalformedInputNamesTheRecordAndField(string csv, string code, long row, int column)
    {
        // Act
        var error = await Assert.ThrowsAsync<IngestFormatException>(() => ReadAllAsync(csv, bytesPerRead: 3));

        // Assert
        Assert.Equal((code, row, column), (error.Code, error.Row, error.Column));
    }

    [Fact]
    public async Task InvalidUtf8NamesTheRecordAndField()
    {
        // Arrange: 0xC3 0x28 is an invalid two-byte sequence.
        byte[] bytes = [.. "a,b\n1,2\n3,x"u8, 0xC3, 0x28, .. "\n"u8];

        // Act
        var error = await Assert.ThrowsAsync<IngestFormatException>(() => ReadAllAsync(bytes));

        // Assert
        Assert.Equal(("invalid_utf8", 3L, 2), (error.Code, error.Row, error.Column));
    }

    [Fact]
    public async Task NulByteIsRejected()
    {
        // Arrange
        byte[] bytes = [.. "a,b\n1,x"u8, 0, .. "y\n"u8];

        // Act
        var error = await Assert.ThrowsAsync<IngestFormatException>(() => ReadAllAsync(bytes));

        // Assert
        Assert.Equal(("nul_byte", 2L, 2), (error.Code, error.Row, error.Column));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FieldOverTheLimitIsRejected(bool quoted)
    {
        // Arrange
        var field = new string('x', CsvReader.MaxFieldBytes + 1);
        var csv = quoted ? $"a,b\n1,\"{field}\"\n" : $"a,b\n1,{field}\n";

        // Act
        var error = await Assert.ThrowsAsync<IngestFormatException>(() => ReadAllAsync(csv));

        // Assert
        Assert.Equal(("field_too_large", 2L, 2), (error.Code, error.Row, error.Column));
    }

    [Fact]
    public async Task MoreColumnsThanPostgresAllowsIsRejected()
    {
        // Arrange
        var csv = string.Join(",", Enumerable.Range(1, CsvReader.MaxColumns + 1).Select(i => $"c{i}")) + "\n";

        // Act
        var error = await Assert.ThrowsAsync<IngestFormatException>(() => ReadAllAsync(csv));

        // Assert
        Assert.Equal(("too_many_columns", 1L, CsvReader.MaxColumns + 1), (error.Code, error.Row, error.Column));
    }

    [Theory]
    [InlineData("true|FALSE|True", ColumnType.Boolean)]
    [InlineData("t|f", ColumnType.Text)]
    [InlineData("1|-2|+3|0042", ColumnType.Bigint)]
    [InlineData("9223372036854775807|-9223372036854775808", ColumnType.Bigint)]
    [InlineData("9223372036854775808|1", ColumnType.DoublePrecision)]
    [InlineData("1|2.5", ColumnType.DoublePrecision)]
    [InlineData("1e3", ColumnType.DoublePrecision)]
    [InlineData("-1.5E-3|.5|NaN|Infinity|-Infinity", ColumnType.DoublePrecision)]
    [InlineData("\"1,000\"", ColumnType.Text)]
    [InlineData(" 1", ColumnType.Text)]
    [InlineData("1|true", ColumnType.Text)]
    [InlineData("2024-02-29|0001-01-01|9999-12-31", ColumnType.Date)]
    [InlineData("2024-02-30", ColumnType.Text)]
    [InlineData("2023-02-29", ColumnType.Text)]
    [InlineData("2024-1-5", ColumnType.Text)]
    [InlineData("2024-01-01|2024-01-02 10:00", ColumnType.Timestamp)]
    [InlineData("2024-01-01T10:00:59.123456|2024-01-01 23:59", ColumnType.Timestamp)]
    [InlineData("2024-01-01 24:00", ColumnType.Text)]
    [InlineData("2024-01-01T10:00Z|2024-01-01 10:00:00+02:00|2024-01-01T10:00:00.5-05", ColumnType.TimestampTz)]
    [InlineData("2024-01-01T10:00:00Z|2024-01-01T10:00:00", ColumnType.Text)]
    [InlineData("2024-01-01|2024-01-01T10:00:00Z", ColumnType.Text)]
    [InlineData("2024-01-01|5", ColumnType.Text)]
    [InlineData("hello|1", ColumnType.Text)]
    public async Task InferenceChoosesTheNarrowestTypeThatHoldsEveryValue(string values, ColumnType expected)
    {
        // Arrange: column "v" holds the values; "other" is never empty so no line is blank.
        var csv = "v,other\n" + string.Concat(values.Split('|').Select(v => $"{v},x\n"));

        // Act
        var scan = await ScanAsync(csv);

        // Assert
        Assert.Equal(expected, scan.Types[0]);
    }


    [Fact]
    public void EveryPlainDecimalIsADoubleAndTheCheckRejectsWhatIsNot()
    {
        // Arrange: every string of up to 5 characters over the alphabet numbers are written in (~2.2M strings).
        var alphabet = "0123456789+-.eE"u8.ToArray();
        var accepted = 0;

        // Act + Assert: the cheap syntax check never says yes where conversion would say no, and agrees with it
        // on everything but NaN / Infinity spellings (which cannot be made of this alphabet).
        foreach (var text in AllStrings(alphabet, maxLength: 5))
        {
            var plain = CsvValues.IsPlainDecimal(text);
            var parses = CsvValues.TryParseDouble(text, out _);
            Assert.True(plain == parses, $"'{Encoding.ASCII.GetString(text)}': IsPlainDecimal {plain}, TryParseDouble {parses}");
            accepted += plain ? 1 : 0;
        }

        Assert.True(accepted > 100_000, $"only {accepted} strings were plain decimals");
        Assert.True(CsvValues.IsPlainDecimal("-12.5e+300"u8));
        Assert.False(CsvValues.IsPlainDecimal("NaN"u8));
        Assert.True(CsvValues.TryParseDouble("NaN"u8, out _));
    }

    private static IEnumerable<byte[]> AllStrings(byte[] alphabet, int maxLength)
    {
        IEnumerable<byte[]> level = [[]];
        for (var length = 1; length <= maxLength; length++)
        {
            level = level.SelectMany(prefix => alphabet.Select(c => (byte[])[.. prefix, c])).ToList();
            foreach (var text in level)
            {
                yield return text;
            }
        }
    }
    [Fact]
    public async Task EmptyFieldsAreNullAndDoNotConstrainTheType()
    {
        // Arrange
        var csv = "n,d,e\n1,,\n,2024-01-01,\n3,,\n";

        // Act
        var scan = await ScanAsync(csv);

        // Assert
        Assert.Equal([ColumnType.Bigint, ColumnType.Date, ColumnType.Text], scan.Types);
        Assert.Equal([false, false, true], scan.AllNull);
    }

    [Fact]
    public async Task ScanCountsRowsBytesAndChecksumsTheRawFile()
    {
        // Arrange
        var bytes = Encoding.UTF8.GetBytes("\uFEFFa;b\r\n1;x\r\n2;y\r\n");

        // Act
        var scan = await ScanAsync(bytes, ';');

        // Assert
        Assert.Equal(["a", "b"], scan.ColumnNames);
        Assert.Equal(2, scan.Rows);
        Assert.Equal(bytes.Length, scan.Bytes);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), scan.Checksum);
    }

    [Fact]
    public async Task WithoutAHeaderColumnsAreNumberedAndTheFirstRecordIsData()
    {
        // Arrange
        var csv = "1,a\n2,b\n";

        // Act
        var scan = await ScanAsync(csv, header: false);

        // Assert
        Assert.Equal(["column_1", "column_2"], scan.ColumnNames);
        Assert.Equal([ColumnType.Bigint, ColumnType.Text], scan.Types);
        Assert.Equal(2, scan.Rows);
    }

    [Fact]
    public async Task HeaderNamesAreTrimmedAndCaseSensitive()
    {
        // Arrange
        var csv = " Id ,id,\"Ünïcode name\"\n1,2,3\n";

        // Act
        var scan = await ScanAsync(csv);

        // Assert
        Assert.Equal(["Id", "id", "Ünïcode name"], scan.ColumnNames);
    }

    [Theory]
    [InlineData("", true, "empty", null, null)]
    [InlineData("\uFEFF", true, "empty", null, null)]
    [InlineData("\n\r\n", false, "empty", null, null)]
    [InlineData("a,b\n", true, "empty", 2L, null)]
    [InlineData("a,b, a \n1,2,3\n", true, "duplicate_column", 1L, 3)]
    [InlineData("a,,c\n1,2,3\n", true, "empty_column_name", 1L, 2)]
    [InlineData("a,\"  \"\n1,2\n", true, "empty_column_name", 1L, 2)]
    public async Task BadFilesAndHeadersAreRejected(string csv, bool header, string code, long? row, int? column)
    {
        // Act
        var error = await Assert.ThrowsAsync<IngestFormatException>(() => ScanAsync(csv, header: header));

        // Assert
        Assert.Equal((code, row, column), (error.Code, error.Row, error.Column));
    }

    [Fact]
    public async Task ColumnNameLongerThan63BytesIsRejected()
    {
        // Arrange: 32 two-byte characters are 64 bytes.
        var csv = $"a,{new string('é', 32)}\n1,2\n";

        // Act
        var error = await Assert.ThrowsAsync<IngestFormatException>(() => ScanAsync(csv));

        // Assert
        Assert.Equal(("column_name_too_long", 1L, 2), (error.Code, error.Row, error.Column));
    }

    [Theory]
    [InlineData("2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00.0000000Z")]
    [InlineData("2024-01-01 10:00-03:30", "2024-01-01T13:30:00.0000000Z")]
    [InlineData("2024-01-01T00:30:00+01", "2023-12-31T23:30:00.0000000Z")]
    [InlineData("2024-01-01T10:00:00.1234565Z", "2024-01-01T10:00:00.1234570Z")]
    [InlineData("2024-01-01T10:00:00.123456789Z", "2024-01-01T10:00:00.1234570Z")]
    public void TimestampsWithAnOffsetBecomeUtc(string text, string expectedUtc)
    {
        // Act
        var parsed = CsvValues.TryParseDateTime(Encoding.UTF8.GetBytes(text), out var value, out var kind);

        // Assert
        Assert.True(parsed);
        Assert.Equal(ColumnType.TimestampTz, kind);
        Assert.Equal(DateTimeKind.Utc, value.Kind);
        Assert.Equal(expectedUtc, value.ToString("O"));
    }

    [Theory]
    [InlineData("2024-01-01T10:00:00.1234567890")]
    [InlineData("2024-01-01T10:00:00.")]
    [InlineData("2024-01-01T10:60")]
    [InlineData("2024-01-01T10:00+16:00")]
    [InlineData("2024-01-01T10:00 Z")]
    [InlineData("2024-01-01T")]
    public void MalformedTimestampsAreNotTimestamps(string text)
    {
        // Act
        var parsed = CsvValues.TryParseDateTime(Encoding.UTF8.GetBytes(text), out _, out _);

        // Assert
        Assert.False(parsed);
    }

    private static Task<List<string[]>> ReadAllAsync(string csv, char delimiter = ',', int bytesPerRead = int.MaxValue) =>
        ReadAllAsync(Encoding.UTF8.GetBytes(csv), delimiter, bytesPerRead);

    private static async Task<List<string[]>> ReadAllAsync(byte[] bytes, char delimiter = ',', int bytesPerRead = int.MaxValue)
    {
        var bufferSize = bytesPerRead == int.MaxValue ? CsvReader.DefaultBufferSize : 16;
        using var reader = new CsvReader(new TrickleStream(bytes, bytesPerRead), delimiter, bufferSize: bufferSize);
        var records = new List<string[]>();
        while (await reader.ReadAsync(CancellationToken.None))
        {
            var record = new string[reader.FieldCount];
            for (var i = 0; i < record.Length; i++)
            {
                record[i] = Encoding.UTF8.GetString(reader[i]);
            }

            records.Add(record);
        }

        return records;
    }

    private static Task<CsvScan> ScanAsync(string csv, char delimiter = ',', bool header = true) =>
        ScanAsync(Encoding.UTF8.GetBytes(csv), delimiter, header);

    private static Task<CsvScan> ScanAsync(byte[] bytes, char delimiter = ',', bool header = true) =>
        CsvScan.ScanAsync(new MemoryStream(bytes), delimiter, header, progress: null, CancellationToken.None);

    /// <summary>Hands out at most a few bytes per read, as a slow network would.</summary>
    private sealed class TrickleStream(byte[] bytes, int bytesPerRead) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, bytesPerRead));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, bytesPerRead)], cancellationToken);
    }
}
