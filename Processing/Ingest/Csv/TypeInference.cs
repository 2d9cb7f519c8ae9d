using System.Numerics;
using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Csv;

/// <summary>
/// Infers each column's type from all of its values. Every column starts with every type as a candidate;
/// each non-empty value removes the types that cannot hold it. The result is the narrowest type left, or
/// <c>text</c> when none is left (or the column has no values at all). So the chosen type holds every value:
/// integers and decimals give <c>double precision</c>, dates and timestamps give <c>timestamp</c>, and
/// timestamps with and without an offset give <c>text</c>.
/// </summary>
public sealed class TypeInference
{
    // One bit per candidate, in ColumnType order (narrowest first), so the lowest bit left is the answer.
    private const int Boolean = 1 << (int)ColumnType.Boolean;
    private const int Bigint = 1 << (int)ColumnType.Bigint;
    private const int Double = 1 << (int)ColumnType.DoublePrecision;
    private const int Date = 1 << (int)ColumnType.Date;
    private const int Timestamp = 1 << (int)ColumnType.Timestamp;
    private const int TimestampTz = 1 << (int)ColumnType.TimestampTz;
    private const int Temporal = Date | Timestamp | TimestampTz;
    private const int All = Boolean | Bigint | Double | Temporal;

    private readonly int[] _candidates;
    private readonly bool[] _hasValues;

    public TypeInference(int columnCount)
    {
        _candidates = new int[columnCount];
        _hasValues = new bool[columnCount];
        Array.Fill(_candidates, All);
    }

    public int ColumnCount => _candidates.Length;

    /// <summary>Takes one value of a column into account; an empty value is NULL and changes nothing.</summary>
    public void Observe(int column, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return;
        }

        _hasValues[column] = true;
        var candidates = _candidates[column];
        if (candidates != 0)
        {
            // Only the types still in play are tried, so a column that is already text costs nothing.
            _candidates[column] = candidates & TypesThatHold(value, candidates);
        }
    }

    /// <summary>The type of a column given everything observed so far.</summary>
    public ColumnType Result(int column)
    {
        var candidates = _candidates[column];
        return !_hasValues[column] || candidates == 0 ? ColumnType.Text : (ColumnType)BitOperations.TrailingZeroCount(candidates);
    }

    /// <summary>True when the column had no value at all (every field empty): it fits any type on append.</summary>
    public bool IsAllNull(int column) => !_hasValues[column];

    /// <summary>The candidate types (among <paramref name="candidates"/>) that can hold <paramref name="value"/>.</summary>
    private static int TypesThatHold(ReadOnlySpan<byte> value, int candidates)
    {
        if ((candidates & Boolean) != 0 && CsvValues.TryParseBoolean(value, out _))
        {
            return Boolean;
        }

        var holders = 0;
        if ((candidates & Bigint) != 0 && CsvValues.TryParseBigint(value, out _))
        {
            holders |= Bigint | Double;
        }
        else if ((candidates & Double) != 0 && (CsvValues.IsPlainDecimal(value) || CsvValues.TryParseDouble(value, out _)))
        {
            holders |= Double;
        }

        if ((candidates & Temporal) != 0 && CsvValues.TryParseDateTime(value, out _, out var kind))
        {
            holders |= kind switch
            {
                ColumnType.Date => Date | Timestamp,
                ColumnType.Timestamp => Timestamp,
                _ => TimestampTz,
            };
        }

        return holders;
    }
}
