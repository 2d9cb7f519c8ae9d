using System.Buffers.Binary;
using DataStack.Processing.Database;
using Npgsql;

namespace DataStack.Processing.Ingest.Copying;

/// <summary>
/// Rows in PostgreSQL's binary COPY format (the same bytes Npgsql's binary importer sends), encoded into one
/// reusable buffer: the signature header first, then per row a 16-bit field count and per field a 32-bit
/// length (−1 for NULL) and the value in network byte order; the trailer is a field count of −1.
/// See https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4.
/// </summary>
public sealed class BinaryCopyBuffer
{
    private const int DefaultCapacity = 64 * 1024;

    /// <summary>PostgreSQL's epoch for date and timestamp values.</summary>
    private static readonly DateTime s_postgresEpoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
    private static readonly int s_postgresEpochDay = new DateOnly(2000, 1, 1).DayNumber;

    /// <summary>Microseconds from 1970-01-01 to PostgreSQL's epoch.</summary>
    private static readonly long s_unixToPostgresMicros = (s_postgresEpoch.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;

    /// <summary><c>PGCOPY\n\377\r\n\0</c> (byte 0xFF is not text, so no u8 literal).</summary>
    private static ReadOnlySpan<byte> Signature => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', 0x0A, 0xFF, 0x0D, 0x0A, 0x00];

    private readonly short _columns;
    private byte[] _buffer = new byte[DefaultCapacity];
    private int _length;

    /// <summary>
    /// Runs one binary COPY into <paramref name="qualifiedTable"/> (an explicit column list; the table's types
    /// decide how PostgreSQL reads the values) on the caller's connection and transaction.
    /// <paramref name="writeRows"/> encodes the rows into the buffer and flushes it to the stream as it fills;
    /// then the trailer is sent and the COPY ends, which is when PostgreSQL checks and stores the rows.
    /// Anything thrown before that cancels the COPY (CopyFail), so PostgreSQL discards it and the caller's
    /// transaction rolls back; the exception goes on. <paramref name="freeze"/> (only for a table created in the
    /// same transaction, which PostgreSQL requires) writes the rows frozen and their pages all-visible: the COPY
    /// takes as long, and the VACUUM autovacuum would soon run on the new table has nothing left to do, so no page is
    /// written twice (docs/benchmarks.md, item 15).
    /// </summary>
    public static async Task CopyAsync(
        NpgsqlConnection connection,
        string qualifiedTable,
        IEnumerable<string> columnNames,
        bool freeze,
        Func<BinaryCopyBuffer, NpgsqlRawCopyStream, Task> writeRows,
        CancellationToken cancellationToken)
    {
        var columns = columnNames.Select(SqlIdentifier.Quote).ToList();
        var output = new BinaryCopyBuffer(columns.Count);
        await using var copyStream = await connection.BeginRawBinaryCopyAsync(
            $"COPY {qualifiedTable} ({string.Join(", ", columns)}) FROM STDIN (FORMAT BINARY{(freeze ? ", FREEZE" : "")})", cancellationToken);
        try
        {
            await writeRows(output, copyStream);
            output.WriteTrailer();
            await output.FlushAsync(copyStream, cancellationToken);
        }
        catch
        {
            try
            {
                await copyStream.CancelAsync();
            }
            catch (Exception cancelFailure) when (cancelFailure is ObjectDisposedException or NpgsqlException or IOException)
            {
                // The connection broke (the error being thrown says why): the server already discarded the COPY.
            }

            throw;
        }

        await copyStream.DisposeAsync();
    }

    public BinaryCopyBuffer(int columns)
    {
        _columns = checked((short)columns);
        Signature.CopyTo(_buffer);
        _length = Signature.Length;
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), 0); // flags
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length + 4), 0); // header extension length
        _length += 8;
    }

    /// <summary>True when a row of at most <paramref name="rowBytes"/> encoded bytes (and the trailer) fits in the buffer.</summary>
    public bool HasRoomFor(int rowBytes) => _length + rowBytes <= _buffer.Length;

    /// <summary>Grows the (empty) buffer for a row of <paramref name="rowBytes"/> bytes larger than it; memory stays bounded by the largest row.</summary>
    public void EnsureCapacity(int rowBytes)
    {
        if (rowBytes > _buffer.Length)
        {
            _buffer = new byte[rowBytes];
        }
    }

    public async Task FlushAsync(NpgsqlRawCopyStream stream, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken);
        _length = 0;
    }

    public void StartRow() => WriteInt16(_columns);

    public void WriteNull() => WriteInt32(-1);

    public void WriteBoolean(bool value)
    {
        WriteInt32(1);
        _buffer[_length++] = value ? (byte)1 : (byte)0;
    }

    public void WriteInt64(long value)
    {
        var field = _buffer.AsSpan(_length, 12);
        BinaryPrimitives.WriteInt32BigEndian(field, 8);
        BinaryPrimitives.WriteInt64BigEndian(field[4..], value);
        _length += 12;
    }

    public void WriteDouble(double value)
    {
        var field = _buffer.AsSpan(_length, 12);
        BinaryPrimitives.WriteInt32BigEndian(field, 8);
        BinaryPrimitives.WriteDoubleBigEndian(field[4..], value);
        _length += 12;
    }

    /// <summary>A date: days since 2000-01-01.</summary>
    public void WriteDate(DateOnly value)
    {
        WriteInt32(4);
        WriteInt32(value.DayNumber - s_postgresEpochDay);
    }

    /// <summary>A timestamp (or a UTC instant for timestamptz): microseconds since 2000-01-01 00:00.</summary>
    public void WriteTimestamp(DateTime value) =>
        WriteInt64((value.Ticks - s_postgresEpoch.Ticks) / TimeSpan.TicksPerMicrosecond);

    /// <summary>A timestamp given as microseconds since 1970-01-01 00:00 (the columns format's epoch).</summary>
    public void WriteTimestampSinceUnixEpoch(long micros) => WriteInt64(micros - s_unixToPostgresMicros);

    /// <summary>A text value from its UTF-8 bytes.</summary>
    public void WriteText(ReadOnlySpan<byte> utf8)
    {
        WriteInt32(utf8.Length);
        utf8.CopyTo(_buffer.AsSpan(_length));
        _length += utf8.Length;
    }

    public void WriteTrailer() => WriteInt16(-1);

    private void WriteInt16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_length), value);
        _length += 2;
    }

    private void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }
}
