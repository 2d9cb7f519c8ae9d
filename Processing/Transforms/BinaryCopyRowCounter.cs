using System.Buffers.Binary;

namespace DataStack.Processing.Transforms;

/// <summary>
/// Counts the rows of a PostgreSQL binary COPY stream as it passes through, chunk by chunk, without holding
/// more than four bytes: the header (signature, flags, extension), then per row a 16-bit field count and per
/// field a 32-bit length (-1 for NULL) and that many bytes, then the trailer (field count -1).
/// </summary>
public sealed class BinaryCopyRowCounter
{
    private const int SignatureLength = 11;

    private readonly byte[] _pending = new byte[4];
    private int _pendingLength;
    private State _state = State.Signature;
    private long _skip = SignatureLength;
    private int _fieldsLeft;

    private enum State
    {
        Signature,
        Flags,
        ExtensionLength,
        Extension,
        FieldCount,
        FieldLength,
        FieldData,
        Done,
    }

    public long Rows { get; private set; }

    /// <summary>True once the trailer was seen.</summary>
    public bool Completed => _state == State.Done;

    public void Feed(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && _state != State.Done)
        {
            switch (_state)
            {
                case State.Signature:
                case State.Extension:
                case State.FieldData:
                    var skipped = (int)Math.Min(_skip, data.Length);
                    data = data[skipped..];
                    _skip -= skipped;
                    if (_skip == 0)
                    {
                        AfterSkip();
                    }

                    break;
                case State.Flags:
                case State.ExtensionLength:
                case State.FieldLength:
                    if (TryTake(ref data, 4, out var value))
                    {
                        OnInt32(BinaryPrimitives.ReadInt32BigEndian(value));
                    }

                    break;
                case State.FieldCount:
                    if (TryTake(ref data, 2, out var count))
                    {
                        OnFieldCount(BinaryPrimitives.ReadInt16BigEndian(count));
                    }

                    break;
            }
        }
    }

    private bool TryTake(ref ReadOnlySpan<byte> data, int size, out ReadOnlySpan<byte> value)
    {
        var take = Math.Min(size - _pendingLength, data.Length);
        data[..take].CopyTo(_pending.AsSpan(_pendingLength));
        data = data[take..];
        _pendingLength += take;
        if (_pendingLength < size)
        {
            value = default;
            return false;
        }

        _pendingLength = 0;
        value = _pending.AsSpan(0, size);
        return true;
    }

    private void AfterSkip()
    {
        switch (_state)
        {
            case State.Signature:
                _state = State.Flags;
                break;
            case State.Extension:
                _state = State.FieldCount;
                break;
            case State.FieldData:
                NextField();
                break;
        }
    }

    private void OnInt32(int value)
    {
        switch (_state)
        {
            case State.Flags:
                _state = State.ExtensionLength;
                break;
            case State.ExtensionLength:
                _skip = value;
                _state = value > 0 ? State.Extension : State.FieldCount;
                break;
            case State.FieldLength when value > 0:
                _skip = value;
                _state = State.FieldData;
                break;
            case State.FieldLength:
                // NULL (-1) or empty: no data bytes follow.
                NextField();
                break;
        }
    }

    private void OnFieldCount(short count)
    {
        if (count < 0)
        {
            _state = State.Done;
            return;
        }

        Rows++;
        _fieldsLeft = count;
        _state = count > 0 ? State.FieldLength : State.FieldCount;
    }

    private void NextField() => _state = --_fieldsLeft > 0 ? State.FieldLength : State.FieldCount;
}
