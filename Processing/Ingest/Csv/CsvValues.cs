using System.Buffers.Text;
using System.Globalization;
using System.Text;
using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Csv;

/// <summary>
/// Parses CSV field bytes (UTF-8) into the values of the inferred column types. Type inference and the
/// COPY pass both use these methods, so a value that was inferred as a type always converts to it.
/// Strict on purpose: no surrounding whitespace, no thousands separators, no culture.
/// </summary>
public static class CsvValues
{
    private const NumberStyles DoubleStyle = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    /// <summary><c>true</c> or <c>false</c>, any case.</summary>
    public static bool TryParseBoolean(ReadOnlySpan<byte> text, out bool value)
    {
        if (Ascii.EqualsIgnoreCase(text, "true"u8))
        {
            value = true;
            return true;
        }

        value = false;
        return Ascii.EqualsIgnoreCase(text, "false"u8);
    }

    /// <summary>An optional sign and decimal digits that fit in a 64-bit integer.</summary>
    public static bool TryParseBigint(ReadOnlySpan<byte> text, out long value) =>
        Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length;

    /// <summary>
    /// A decimal number with optional sign, fraction and exponent (invariant: '.' is the decimal point),
    /// or <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>.
    /// </summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> text, out double value) =>
        double.TryParse(text, DoubleStyle, CultureInfo.InvariantCulture, out value);

    /// <summary>
    /// True when <paramref name="text"/> is a plain decimal number — <c>[+-]</c>, digits with an optional
    /// fraction (or a fraction alone), an optional exponent — which <see cref="TryParseDouble"/> always
    /// accepts. Inference asks this first: checking the syntax is several times cheaper than converting, and
    /// anything else (<c>NaN</c>, <c>Infinity</c>) still goes to <see cref="TryParseDouble"/>.
    /// </summary>
    public static bool IsPlainDecimal(ReadOnlySpan<byte> text)
    {
        var i = text.Length > 0 && text[0] is (byte)'+' or (byte)'-' ? 1 : 0;
        var digits = CountDigits(text, ref i);
        if (i < text.Length && text[i] == '.')
        {
            i++;
            digits += CountDigits(text, ref i);
        }

        if (digits == 0)
        {
            return false;
        }

        if (i < text.Length && text[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < text.Length && text[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            if (CountDigits(text, ref i) == 0)
            {
                return false;
            }
        }

        return i == text.Length;
    }

    /// <summary>
    /// A date <c>yyyy-MM-dd</c> (<paramref name="kind"/> <see cref="ColumnType.Date"/>), a timestamp
    /// <c>yyyy-MM-dd[T ]HH:mm[:ss[.f…]]</c> (1 to 9 fraction digits) (<see cref="ColumnType.Timestamp"/>, <see cref="DateTimeKind.Unspecified"/>),
    /// or such a timestamp followed by <c>Z</c> or <c>±HH[:MM]</c> (<see cref="ColumnType.TimestampTz"/>, converted to UTC).
    /// Fractions are rounded (half up) to microseconds, PostgreSQL's precision.
    /// </summary>
    public static bool TryParseDateTime(ReadOnlySpan<byte> text, out DateTime value, out ColumnType kind)
    {
        value = default;
        kind = ColumnType.Text;
        if (text.Length < 10
            || text[4] != '-' || text[7] != '-'
            || !TryDigits(text[..4], out var year) || !TryDigits(text.Slice(5, 2), out var month) || !TryDigits(text.Slice(8, 2), out var day)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        var date = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Unspecified);
        if (text.Length == 10)
        {
            value = date;
            kind = ColumnType.Date;
            return true;
        }

        // Time: [T ]HH:mm
        if (text.Length < 16 || text[10] is not ((byte)'T' or (byte)' ') || text[13] != ':'
            || !TryDigits(text.Slice(11, 2), out var hour) || !TryDigits(text.Slice(14, 2), out var minute)
            || hour > 23 || minute > 59)
        {
            return false;
        }

        var ticks = (hour * TimeSpan.TicksPerHour) + (minute * TimeSpan.TicksPerMinute);
        var rest = text[16..];

        // [:ss[.fffffff]]
        if (rest.Length >= 3 && rest[0] == ':')
        {
            if (!TryDigits(rest.Slice(1, 2), out var second) || second > 59)
            {
                return false;
            }

            ticks += second * TimeSpan.TicksPerSecond;
            rest = rest[3..];
            if (rest.Length > 0 && rest[0] == '.')
            {
                // Up to 9 fraction digits (nanoseconds, as pandas writes them), rounded to microseconds.
                var digits = 0;
                long microseconds = 0;
                var roundUp = false;
                while (digits + 1 < rest.Length && char.IsAsciiDigit((char)rest[digits + 1]))
                {
                    var digit = rest[digits + 1] - '0';
                    if (digits < 6)
                    {
                        microseconds = (microseconds * 10) + digit;
                    }
                    else if (digits == 6)
                    {
                        roundUp = digit >= 5;
                    }
                    else if (digits == 9)
                    {
                        return false;
                    }

                    digits++;
                }

                if (digits == 0)
                {
                    return false;
                }

                for (var i = digits; i < 6; i++)
                {
                    microseconds *= 10;
                }

                ticks += (microseconds + (roundUp ? 1 : 0)) * 10;
                rest = rest[(digits + 1)..];
            }
        }

        var offsetTicks = 0L;
        if (rest.Length == 0)
        {
            kind = ColumnType.Timestamp;
        }
        else if (rest.Length == 1 && rest[0] is (byte)'Z' or (byte)'z')
        {
            kind = ColumnType.TimestampTz;
        }
        else if (TryParseOffset(rest, out offsetTicks))
        {
            kind = ColumnType.TimestampTz;
        }
        else
        {
            return false;
        }

        // Local time minus its offset is UTC; stay inside DateTime's range.
        var utcTicks = date.Ticks + ticks - offsetTicks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            kind = ColumnType.Text;
            return false;
        }

        value = new DateTime(utcTicks, kind == ColumnType.TimestampTz ? DateTimeKind.Utc : DateTimeKind.Unspecified);
        return true;
    }

    /// <summary>Decodes a text field (validated UTF-8).</summary>
    public static string ToText(ReadOnlySpan<byte> text) => Encoding.UTF8.GetString(text);

    /// <summary><c>±HH</c> or <c>±HH:MM</c>, at most 15:59 as in PostgreSQL.</summary>
    private static bool TryParseOffset(ReadOnlySpan<byte> text, out long ticks)
    {
        ticks = 0;
        if (text.Length is not (3 or 6) || text[0] is not ((byte)'+' or (byte)'-')
            || !TryDigits(text.Slice(1, 2), out var hours) || hours > 15)
        {
            return false;
        }

        var minutes = 0;
        if (text.Length == 6 && (text[3] != ':' || !TryDigits(text.Slice(4, 2), out minutes) || minutes > 59))
        {
            return false;
        }

        ticks = (hours * TimeSpan.TicksPerHour) + (minutes * TimeSpan.TicksPerMinute);
        if (text[0] == '-')
        {
            ticks = -ticks;
        }

        return true;
    }

    private static int CountDigits(ReadOnlySpan<byte> text, ref int index)
    {
        var start = index;
        while (index < text.Length && char.IsAsciiDigit((char)text[index]))
        {
            index++;
        }

        return index - start;
    }

    private static bool TryDigits(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        foreach (var b in text)
        {
            var digit = b - '0';
            if ((uint)digit > 9)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }
}
