using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Unicode;
using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Columns;

/// <summary>
/// Reads an upload in the columns format (<c>docs/columns-format.md</c>): a header naming and typing the
/// columns, then batches of rows stored column by column, as <c>datastack.upload(DataFrame)</c> sends them.
/// One batch is in memory at a time; <see cref="WriteRow"/> turns a row of it into binary COPY. Structure
/// errors throw <see cref="IngestFormatException"/> with code <c>invalid_columns</c> (and the row and column
/// where one applies).
/// </summary>
public sealed class ColumnsReader : IDisposable
{
    public const string ContentType = "application/vnd.datastack.columns";
    public const int MaxColumns = 1600;
    public const int MaxBatchRows = 1 << 20;
    public const int MaxBatchBytes = 256 << 20;
    private const int MaxHeaderBytes = 1 << 20;

    // DateTime's range (years 1 to 9999), as the CSV path accepts: microseconds and days since 1970-01-01.
    private const long MinMicros = -62_135_596_800_000_000;
    private const long MaxMicros = 253_402_300_799_999_999;
    private static readonly int s_unixEpochDay = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    private static ReadOnlySpan<byte> Magic => "DSCOLS01"u8;

    private readonly Stream _stream;
    private readonly XxHash128 _checksum = new();
    private byte[] _batch = ArrayPool<byte>.Shared.Rent(1 << 16);
    private ColumnType[] _types = [];
    private int[] _nullsAt = [];
    private int[] _valuesAt = [];
    private int[][] _textStarts = [];
    private int[] _textColumns = [];
    private int _rowBytesBesidesText;

    public ColumnsReader(Stream stream) => _stream = stream;

    public IReadOnlyList<string> ColumnNames { get; private set; } = [];

    public IReadOnlyList<ColumnType> Types => _types;

    /// <summary>Rows in the current batch.</summary>
    public int BatchRows { get; private set; }

    /// <summary>Rows in the batches before the current one.</summary>
    public long RowsBefore { get; private set; }

    public long BytesConsumed { get; private set; }

    /// <summary>
    /// The XXH128 of every byte read so far, as <c>xxh128:{hex}</c>. Not SHA-256 as for a file: nobody can recompute
    /// a body's hash from outside (it is the wire format, not a file the user has), so it only has to tell
    /// uploads apart; XXH128 hashes at memory speed, where SHA-256 was a visible share of an upload's CPU
    /// (docs/benchmarks.md, item 13).
    /// </summary>
    public string Checksum => "xxh128:" + Convert.ToHexStringLower(_checksum.GetCurrentHash());

    /// <summary>Reads and checks the header: the magic, then the columns' names and types (<see cref="ColumnsHeader"/>).</summary>
    public async Task ReadHeaderAsync(CancellationToken cancellationToken)
    {
        await FillAsync(0, Magic.Length + 4, "the header", cancellationToken);
        if (!_batch.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw Invalid("The upload does not start with the columns format's magic 'DSCOLS01'.");
        }

        var jsonLength = BinaryPrimitives.ReadUInt32LittleEndian(_batch.AsSpan(Magic.Length));
        if (jsonLength is 0 or > MaxHeaderBytes)
        {
            throw Invalid($"The header's JSON must be 1 to {MaxHeaderBytes} bytes long (it says {jsonLength}).");
        }

        await FillAsync(0, (int)jsonLength, "the header", cancellationToken);
        (ColumnNames, _types) = ColumnsHeader.Parse(_batch.AsSpan(0, (int)jsonLength), MaxColumns);
        var count = ColumnNames.Count;
        _nullsAt = new int[count];
        _valuesAt = new int[count];
        _textStarts = new int[count][];
        _textColumns = [.. Enumerable.Range(0, count).Where(column => _types[column] == ColumnType.Text)];
        // A row's field count and the trailer's room, then per column its length and at most MaxValueBytes (text: its own bytes).
        _rowBytesBesidesText = 2 + 2 + (count * 4) + ((count - _textColumns.Length) * ColumnConversions.MaxValueBytes);
    }

    /// <summary>Loads the next batch; false after the end marker (which must end the stream).</summary>
    public async Task<bool> ReadBatchAsync(CancellationToken cancellationToken)
    {
        RowsBefore += BatchRows;
        BatchRows = 0;
        await FillAsync(0, 4, "the next batch", cancellationToken);
        var rows = BinaryPrimitives.ReadUInt32LittleEndian(_batch);
        if (rows == 0)
        {
            if (await _stream.ReadAsync(_batch.AsMemory(0, 1), cancellationToken) != 0)
            {
                throw Invalid("There are bytes after the end marker.");
            }

            if (RowsBefore == 0)
            {
                throw new IngestFormatException("empty", "The upload has no rows.");
            }

            return false;
        }

        if (rows > MaxBatchRows)
        {
            throw Invalid($"A batch holds at most {MaxBatchRows} rows; the one after row {RowsBefore} says {rows}.");
        }

        var count = (int)rows;
        var position = 0;
        for (var column = 0; column < _types.Length; column++)
        {
            _nullsAt[column] = position;
            position = await FillAsync(position, count, $"column {column + 1}'s NULL flags", cancellationToken);
            if (Types[column] != ColumnType.Text)
            {
                _valuesAt[column] = position;
                position = await FillAsync(position, count * Width(Types[column]), $"column {column + 1}'s values", cancellationToken);
                continue;
            }

            position = await FillAsync(position, 4, $"column {column + 1}'s text length", cancellationToken);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(_batch.AsSpan(position - 4));
            if (length > MaxBatchBytes)
            {
                throw Invalid($"Column {column + 1}'s text block after row {RowsBefore} says {length} bytes; at most {MaxBatchBytes}.", column);
            }

            _valuesAt[column] = position;
            position = await FillAsync(position, (int)length, $"column {column + 1}'s text", cancellationToken);
            SplitText(column, count, position);
        }

        BatchRows = count;
        return true;
    }

    /// <summary>An upper bound of row <paramref name="row"/>'s encoded size, as <see cref="BinaryCopyBuffer"/> counts it.</summary>
    public int MaxRowBytes(int row)
    {
        var bytes = _rowBytesBesidesText;
        foreach (var column in _textColumns)
        {
            bytes += TextLength(column, row);
        }

        return bytes;
    }

    /// <summary>
    /// Appends row <paramref name="row"/> of the batch to <paramref name="output"/>, each value written as
    /// <paramref name="targets"/> says (the table's types: the declared ones, or an existing dataset's when
    /// appending — <see cref="ColumnConversions"/> decides which pairs convert).
    /// </summary>
    public void WriteRow(int row, ReadOnlySpan<ColumnType> targets, BinaryCopyBuffer output)
    {
        output.StartRow();
        var batch = _batch;
        for (var column = 0; column < _types.Length; column++)
        {
            if (batch[_nullsAt[column] + row] != 0)
            {
                output.WriteNull();
                continue;
            }

            var values = _valuesAt[column];
            var type = _types[column];
            var target = targets[column];

            // A new table has the declared types, so the common values are written directly; an append may
            // convert (ColumnConversions).
            switch (type)
            {
                case ColumnType.Boolean:
                    var flag = batch[values + row];
                    if (flag > 1)
                    {
                        throw Invalid($"Row {RowsBefore + row + 1}, column {column + 1}: a boolean is 0 or 1, not {flag}.", column, row);
                    }

                    ColumnConversions.Write(output, flag == 1, target, this, column, row);
                    break;
                case ColumnType.Bigint:
                    var integer = BinaryPrimitives.ReadInt64LittleEndian(batch.AsSpan(values + (row * 8)));
                    if (target == type)
                    {
                        output.WriteInt64(integer);
                    }
                    else
                    {
                        ColumnConversions.Write(output, integer, target, this, column, row);
                    }

                    break;
                case ColumnType.DoublePrecision:
                    var real = BinaryPrimitives.ReadDoubleLittleEndian(batch.AsSpan(values + (row * 8)));
                    if (target == type)
                    {
                        output.WriteDouble(real);
                    }
                    else
                    {
                        ColumnConversions.Write(output, real, target, this, column, row);
                    }

                    break;
                case ColumnType.Date:
                    var days = BinaryPrimitives.ReadInt32LittleEndian(batch.AsSpan(values + (row * 4)));
                    var dayNumber = (long)days + s_unixEpochDay;
                    if (dayNumber < DateOnly.MinValue.DayNumber || dayNumber > DateOnly.MaxValue.DayNumber)
                    {
                        throw Invalid($"Row {RowsBefore + row + 1}, column {column + 1}: the date is outside years 1 to 9999.", column, row);
                    }

                    ColumnConversions.Write(output, DateOnly.FromDayNumber((int)dayNumber), target, this, column, row);
                    break;
                case ColumnType.Timestamp:
                case ColumnType.TimestampTz:
                    var micros = BinaryPrimitives.ReadInt64LittleEndian(batch.AsSpan(values + (row * 8)));
                    if (micros is < MinMicros or > MaxMicros)
                    {
                        throw Invalid($"Row {RowsBefore + row + 1}, column {column + 1}: the timestamp is outside years 1 to 9999.", column, row);
                    }

                    if (target == type)
                    {
                        output.WriteTimestampSinceUnixEpoch(micros);
                    }
                    else
                    {
                        var kind = type == ColumnType.TimestampTz ? DateTimeKind.Utc : DateTimeKind.Unspecified;
                        var timestamp = new DateTime(DateTime.UnixEpoch.Ticks + (micros * TimeSpan.TicksPerMicrosecond), kind);
                        ColumnConversions.Write(output, timestamp, target, this, column, row);
                    }

                    break;
                default:
                    if (target != ColumnType.Text)
                    {
                        throw Mismatch(column, row, target);
                    }

                    output.WriteText(batch.AsSpan(_textStarts[column][row], TextLength(column, row)));
                    break;
            }
        }
    }

    public void Dispose()
    {
        var batch = _batch;
        _batch = [];
        if (batch.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }

    /// <summary>The error for a value of <paramref name="column"/> that the dataset's column cannot hold.</summary>
    internal IngestFormatException Mismatch(int column, int row, ColumnType target) =>
        new(
            "schema_mismatch",
            $"Column '{ColumnNames[column]}' holds {Types[column].ToSql()} values (row {RowsBefore + row + 1}); the dataset has it as {target.ToSql()}.",
            RowsBefore + row + 1,
            column + 1);

    private static int Width(ColumnType type) => type switch
    {
        ColumnType.Boolean => 1,
        ColumnType.Date => 4,
        _ => 8,
    };

    /// <summary>Finds the start of every value of a text block, checking it is UTF-8 and holds exactly <paramref name="rows"/> values.</summary>
    private void SplitText(int column, int rows, int end)
    {
        var block = _batch.AsSpan(_valuesAt[column], end - _valuesAt[column]);
        if (!Utf8.IsValid(block))
        {
            throw Invalid($"Column {column + 1}'s text after row {RowsBefore} is not valid UTF-8.", column);
        }

        var starts = _textStarts[column];
        if (starts is null || starts.Length < rows + 1)
        {
            starts = _textStarts[column] = new int[rows + 1];
        }

        // starts[i] is where value i begins; value i ends one byte before starts[i + 1] (its separator).
        starts[0] = _valuesAt[column];
        var offset = 0;
        for (var value = 1; value < rows; value++)
        {
            var separator = block[offset..].IndexOf((byte)0);
            if (separator < 0)
            {
                throw Invalid($"Column {column + 1}'s text block after row {RowsBefore} holds {value} values, not {rows}.", column);
            }

            offset += separator + 1;
            starts[value] = _valuesAt[column] + offset;
        }

        if (block[offset..].Contains((byte)0))
        {
            throw Invalid($"Column {column + 1}'s text block after row {RowsBefore} holds more than {rows} values (text cannot contain 0x00).", column);
        }

        starts[rows] = end + 1;
    }

    private int TextLength(int column, int row) => _textStarts[column][row + 1] - _textStarts[column][row] - 1;

    /// <summary>Reads exactly <paramref name="count"/> bytes into the batch buffer at <paramref name="position"/>; returns the new end.</summary>
    private async Task<int> FillAsync(int position, int count, string what, CancellationToken cancellationToken)
    {
        if ((long)position + count > MaxBatchBytes)
        {
            throw Invalid($"A batch may hold at most {MaxBatchBytes} bytes; the one after row {RowsBefore} is larger.");
        }

        if (position + count > _batch.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(position + count, _batch.Length * 2));
            _batch.AsSpan(0, position).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_batch);
            _batch = larger;
        }

        try
        {
            await _stream.ReadExactlyAsync(_batch.AsMemory(position, count), cancellationToken);
        }
        catch (EndOfStreamException)
        {
            throw Invalid($"The upload ends in the middle of {what} (after row {RowsBefore}); the end marker is missing.");
        }

        _checksum.Append(_batch.AsSpan(position, count));
        BytesConsumed += count;
        return position + count;
    }

    private IngestFormatException Invalid(string message, int column, int row) =>
        new("invalid_columns", message, RowsBefore + row + 1, column + 1);

    private static IngestFormatException Invalid(string message, int? column = null) =>
        new("invalid_columns", message, column: column + 1);
}
