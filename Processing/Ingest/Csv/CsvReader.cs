using System.Buffers;
using System.Security.Cryptography;
using System.Text.Unicode;

namespace DataStack.Processing.Ingest.Csv;

/// <summary>
/// A streaming RFC 4180 reader over UTF-8 bytes. It reads the stream into one large pooled buffer and hands
/// out each record's fields as spans into that buffer: nothing is allocated per record or per field.
/// </summary>
/// <remarks>
/// <para>What it accepts: fields separated by a one-byte delimiter; records ended by LF, CRLF or a lone CR;
/// a field that starts with <c>"</c> is quoted and may hold delimiters, line breaks and doubled quotes
/// (<c>""</c>); a quote inside an unquoted field is an ordinary character. A UTF-8 byte order mark at the
/// start is skipped. Completely empty lines are skipped (they still count as records, so record numbers
/// stay close to line numbers).</para>
/// <para>What it rejects, with the record and field: an unterminated quote, text after a closing quote,
/// a record whose field count differs from the first record's, invalid UTF-8, a NUL byte (PostgreSQL
/// cannot store one in text), a field over <see cref="MaxFieldBytes"/>, more than <see cref="MaxColumns"/>
/// fields. These limits keep a hostile file from hanging the reader or exhausting memory.</para>
/// <para>A record that does not fit in the buffer grows it (up to <see cref="MaxRecordBytes"/>); otherwise
/// the buffer is reused. The spans returned by the indexer are valid until the next <see cref="ReadAsync"/>.</para>
/// </remarks>
public sealed class CsvReader : IDisposable
{
    public const int DefaultBufferSize = 1 << 20;

    /// <summary>Largest field, in bytes as written in the file (16 MiB).</summary>
    public const int MaxFieldBytes = 16 << 20;

    /// <summary>Largest record, in bytes as written in the file (64 MiB).</summary>
    public const int MaxRecordBytes = 64 << 20;

    /// <summary>PostgreSQL's limit on the columns of a table.</summary>
    public const int MaxColumns = 1600;

    private const byte Quote = (byte)'"';
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';

    private readonly Stream _stream;
    private readonly byte _delimiter;
    private readonly SearchValues<byte> _unquotedFieldEnd;
    private readonly IncrementalHash? _checksum;

    private byte[] _buffer;
    private int _start;          // First byte not consumed yet (the start of the next record).
    private int _end;            // End of the bytes read into the buffer.
    private long _bufferOffset;  // File offset of _buffer[0].
    private bool _endOfStream;
    private bool _atStartOfFile = true;

    private int[] _fieldStarts = new int[64];
    private int[] _fieldLengths = new int[64];
    private bool[] _fieldHasEscapedQuotes = new bool[64];
    private int _expectedFieldCount = -1;

    /// <param name="stream">The CSV bytes.</param>
    /// <param name="delimiter">An ASCII delimiter other than a quote or a line break.</param>
    /// <param name="checksum">When given, every byte read from the stream is appended to it.</param>
    /// <param name="bufferSize">The initial buffer size; 1 MiB by default.</param>
    public CsvReader(Stream stream, char delimiter = ',', IncrementalHash? checksum = null, int bufferSize = DefaultBufferSize)
    {
        if (!IsValidDelimiter(delimiter))
        {
            throw new ArgumentException("The delimiter must be one ASCII character other than a quote or a line break.", nameof(delimiter));
        }

        _stream = stream;
        _delimiter = (byte)delimiter;
        _unquotedFieldEnd = SearchValues.Create([_delimiter, Cr, Lf]);
        _checksum = checksum;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(bufferSize, 16));
    }

    /// <summary>The number of fields of the current record.</summary>
    public int FieldCount { get; private set; }

    /// <summary>1-based number of the current record in the file (blank lines count).</summary>
    public long RecordNumber { get; private set; }

    /// <summary>Bytes of the file up to the end of the current record.</summary>
    public long BytesConsumed => _bufferOffset + _start;

    /// <summary>The unquoted, unescaped bytes of field <paramref name="index"/> of the current record.</summary>
    public ReadOnlySpan<byte> this[int index] => _buffer.AsSpan(_fieldStarts[index], _fieldLengths[index]);

    public static bool IsValidDelimiter(char delimiter) => delimiter < 128 && delimiter is not ('"' or '\r' or '\n');

    /// <summary>Moves to the next record; false at the end of the file.</summary>
    public ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        // Fast path: the whole record is already in the buffer (almost always).
        return TryReadRecord() ? new ValueTask<bool>(true) : ReadSlowAsync(cancellationToken);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask<bool> ReadSlowAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_endOfStream)
            {
                // TryReadRecord has seen every byte: there is no further record.
                return false;
            }

            await FillAsync(cancellationToken);
            if (TryReadRecord())
            {
                return true;
            }
        }
    }

    /// <summary>Keeps the unconsumed tail, makes room (growing the buffer if one record fills it) and reads more.</summary>
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxRecordBytes)
            {
                throw CsvErrors.RecordTooLarge(RecordNumber + 1, _bufferOffset);
            }

            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, MaxRecordBytes));
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (read == 0)
        {
            _endOfStream = true;
            return;
        }

        _checksum?.AppendData(_buffer, _end, read);
        _end += read;
    }

    /// <summary>
    /// Parses the next record if all of it is in the buffer. Returns false when more bytes are needed (or,
    /// at the end of the stream, when there is no further record); nothing is consumed then, and the
    /// record is parsed again from its start once more bytes have arrived.
    /// </summary>
    private bool TryReadRecord()
    {
        var buffer = _buffer;
        var end = _end;

        if (_atStartOfFile)
        {
            if (end < 3 && !_endOfStream)
            {
                return false;
            }

            if (buffer.AsSpan(0, end).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                _start = 3;
            }

            _atStartOfFile = false;
        }

        // Blank lines are not records; consume them as they come.
        while (_start < end && buffer[_start] is Cr or Lf)
        {
            if (buffer[_start] == Cr && _start + 1 == end && !_endOfStream)
            {
                return false; // A CR at the end of the buffer: is it CRLF?
            }

            _start += buffer[_start] == Cr && _start + 1 < end && buffer[_start + 1] == Lf ? 2 : 1;
            RecordNumber++;
        }

        if (_start == end)
        {
            return false;
        }

        var recordNumber = RecordNumber + 1;
        var position = _start;
        var fieldCount = 0;
        while (true)
        {
            if (fieldCount == MaxColumns)
            {
                throw CsvErrors.TooManyColumns(recordNumber, fieldCount + 1, RecordOffset);
            }

            int fieldStart, fieldLength, next;
            var escaped = false;
            if (position < end && buffer[position] == Quote)
            {
                // Quoted field: up to the quote that is not doubled.
                var search = position + 1;
                int closing;
                while (true)
                {
                    var found = buffer.AsSpan(search, end - search).IndexOf(Quote);
                    if (found < 0)
                    {
                        if (!_endOfStream)
                        {
                            CheckFieldSize(end - position, recordNumber, fieldCount);
                            return false;
                        }

                        throw CsvErrors.UnterminatedQuote(recordNumber, fieldCount + 1, RecordOffset);
                    }

                    var quote = search + found;
                    if (quote + 1 == end && !_endOfStream)
                    {
                        return false; // Closing quote, or the first half of a doubled one?
                    }

                    if (quote + 1 < end && buffer[quote + 1] == Quote)
                    {
                        escaped = true;
                        search = quote + 2;
                        continue;
                    }

                    closing = quote;
                    break;
                }

                fieldStart = position + 1;
                fieldLength = closing - fieldStart;
                next = closing + 1;
                if (next < end && buffer[next] != _delimiter && buffer[next] is not (Cr or Lf))
                {
                    throw CsvErrors.TextAfterQuote(recordNumber, fieldCount + 1, RecordOffset);
                }
            }
            else
            {
                var found = buffer.AsSpan(position, end - position).IndexOfAny(_unquotedFieldEnd);
                if (found < 0)
                {
                    if (!_endOfStream)
                    {
                        CheckFieldSize(end - position, recordNumber, fieldCount);
                        return false;
                    }

                    found = end - position;
                }

                fieldStart = position;
                fieldLength = found;
                next = position + found;
            }

            CheckFieldSize(fieldLength, recordNumber, fieldCount);
            AddField(fieldCount++, fieldStart, fieldLength, escaped);

            // `next` is at the delimiter, a line break, or the end of the stream.
            if (next == end)
            {
                position = end;
                break;
            }

            var terminator = buffer[next];
            if (terminator == _delimiter)
            {
                position = next + 1;
                continue;
            }

            if (terminator == Cr && next + 1 == end && !_endOfStream)
            {
                return false; // Is the CR followed by an LF?
            }

            position = terminator == Cr && next + 1 < end && buffer[next + 1] == Lf ? next + 2 : next + 1;
            break;
        }

        // The record is complete: validate it, then consume it.
        Validate(buffer.AsSpan(_start, position - _start), recordNumber, fieldCount);
        for (var i = 0; i < fieldCount; i++)
        {
            if (_fieldHasEscapedQuotes[i])
            {
                _fieldLengths[i] = Unescape(buffer.AsSpan(_fieldStarts[i], _fieldLengths[i]));
            }
        }

        FieldCount = fieldCount;
        RecordNumber = recordNumber;
        _start = position;
        return true;
    }

    private void Validate(ReadOnlySpan<byte> record, long recordNumber, int fieldCount)
    {
        if (_expectedFieldCount < 0)
        {
            _expectedFieldCount = fieldCount;
        }
        else if (fieldCount != _expectedFieldCount)
        {
            throw CsvErrors.RaggedRow(recordNumber, fieldCount, _expectedFieldCount, RecordOffset);
        }

        // One vectorised pass over the whole record; only on failure look for the field that holds the problem.
        if (!Utf8.IsValid(record))
        {
            var field = FirstField(fieldCount, span => !Utf8.IsValid(span));
            throw CsvErrors.InvalidUtf8(recordNumber, field, RecordOffset);
        }

        if (record.Contains((byte)0))
        {
            var field = FirstField(fieldCount, span => span.Contains((byte)0));
            throw CsvErrors.NulByte(recordNumber, field, RecordOffset);
        }
    }

    private int FirstField(int fieldCount, Func<ReadOnlySpan<byte>, bool> isBad)
    {
        for (var i = 0; i < fieldCount; i++)
        {
            if (isBad(_buffer.AsSpan(_fieldStarts[i], _fieldLengths[i])))
            {
                return i + 1;
            }
        }

        // The problem sits in quoting or separators (cannot happen for UTF-8 or NUL, but be safe).
        return 1;
    }

    private void AddField(int index, int start, int length, bool escaped)
    {
        if (index == _fieldStarts.Length)
        {
            Array.Resize(ref _fieldStarts, index * 2);
            Array.Resize(ref _fieldLengths, index * 2);
            Array.Resize(ref _fieldHasEscapedQuotes, index * 2);
        }

        _fieldStarts[index] = start;
        _fieldLengths[index] = length;
        _fieldHasEscapedQuotes[index] = escaped;
    }

    private void CheckFieldSize(int length, long recordNumber, int fieldIndex)
    {
        if (length > MaxFieldBytes)
        {
            throw CsvErrors.FieldTooLarge(recordNumber, fieldIndex + 1, RecordOffset);
        }
    }

    /// <summary>Turns each doubled quote into one, in place; returns the new length.</summary>
    private static int Unescape(Span<byte> field)
    {
        var write = 0;
        for (var read = 0; read < field.Length; read++)
        {
            field[write++] = field[read];
            if (field[read] == Quote)
            {
                read++; // Skip the second quote of the pair.
            }
        }

        return write;
    }

    /// <summary>Where the record being read starts in the file.</summary>
    private long RecordOffset => _bufferOffset + _start;
}
