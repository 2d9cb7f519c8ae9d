using System.Globalization;
using System.Text;

namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>Hostile and broken CSV from a seeded <see cref="Random"/>, so any failure reproduces from its seed.</summary>
public sealed class CsvFuzzer(Random random)
{
    private static readonly string[] s_kinds = ["quoting", "noise", "mutated", "ragged", "header", "valid"];

    /// <summary>Bytes a CSV reader must treat with care: quote, delimiter, line breaks, NUL, a byte never valid in UTF-8.</summary>
    private static readonly byte[] s_special = [(byte)'"', (byte)',', (byte)'\r', (byte)'\n', 0, 0xFF];

    /// <summary>How many kinds of input <see cref="Generate"/> makes (case <c>i</c> is kind <c>i % KindCount</c>).</summary>
    public static int KindCount => s_kinds.Length;

    public static string KindOf(int index) => s_kinds[index % s_kinds.Length];

    public byte[] Generate(int index) => KindOf(index) switch
    {
        "quoting" => Utf8(RandomQuoting()),
        "noise" => Noise(),
        "mutated" => Mutate(Encoding.UTF8.GetBytes(Valid())),
        "ragged" => Utf8(Ragged()),
        "header" => Header(),
        _ => Utf8(Valid()),
    };

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Fields quoted at random: embedded delimiters, line breaks and doubled quotes, stray and unclosed quotes.</summary>
    private string RandomQuoting()
    {
        var text = new StringBuilder("a,b,c\n");
        var rows = random.Next(1, 200);

        // Half the files are well-formed; the other half carry one quoting mistake somewhere.
        var poisonAt = random.Next(2) == 0 ? random.Next(rows * 3) : -1;
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < 3; f++)
            {
                text.Append((r * 3) + f == poisonAt
                    ? random.Next(2) == 0 ? "\"closed\"trailing" : "\"never closed"
                    : random.Next(6) switch
                    {
                        0 => "\"x,y\"",
                        1 => "\"line\nbreak\"",
                        2 => "\"say \"\"hi\"\"\"",
                        3 => "un\"quoted",
                        _ => random.Next(1000).ToString(CultureInfo.InvariantCulture),
                    });
                text.Append(f < 2 ? "," : random.Next(4) == 0 ? "\r\n" : "\n");
            }
        }

        return text.ToString();
    }

    /// <summary>Random bytes: NULs, invalid UTF-8, lone CRs, anything.</summary>
    private byte[] Noise()
    {
        var bytes = new byte[random.Next(0, 64 * 1024)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A valid file with bytes flipped, inserted and removed.</summary>
    private byte[] Mutate(byte[] valid)
    {
        var bytes = new List<byte>(valid);
        var edits = random.Next(1, 20);
        for (var i = 0; i < edits && bytes.Count > 0; i++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(3))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.Insert(at, s_special[random.Next(s_special.Length)]);
                    break;
                default:
                    bytes.RemoveAt(at);
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Rows whose field counts differ from the header's.</summary>
    private string Ragged()
    {
        var text = new StringBuilder("a,b,c\n");
        for (var r = random.Next(1, 100); r > 0; r--)
        {
            text.AppendJoin(',', Enumerable.Range(0, random.Next(1, 6)).Select(i => i.ToString(CultureInfo.InvariantCulture)));
            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Headers that are hard to turn into columns: duplicates, blanks, overlong and odd names, a BOM.</summary>
    private byte[] Header()
    {
        var names = Enumerable.Range(0, random.Next(1, 12)).Select(_ => random.Next(7) switch
        {
            0 => "",
            1 => "dup",
            2 => new string('n', random.Next(60, 200)),
            3 => "\"quoted, name\"",
            4 => "ünï \"\"cödé\"\"",
            5 => "DROP TABLE x; --",
            _ => "c" + random.Next(100),
        }).ToArray();
        var text = string.Join(',', names) + "\n" + string.Join(',', names.Select((_, i) => i.ToString(CultureInfo.InvariantCulture))) + "\n";
        var bytes = Encoding.UTF8.GetBytes(text);
        return random.Next(3) == 0 ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes;
    }

    /// <summary>A well-formed file with random types, NULLs and quoting.</summary>
    private string Valid()
    {
        var text = new StringBuilder("id,amount,day,flag,note\n");
        for (var r = random.Next(1, 300); r > 0; r--)
        {
            text.Append(CultureInfo.InvariantCulture, $"{random.Next()},{random.NextDouble() * 1000:F3},2024-0{random.Next(1, 10)}-1{random.Next(0, 10)},");
            text.Append(random.Next(2) == 0 ? "true" : "false").Append(',');
            text.Append(random.Next(4) == 0 ? "" : $"\"note {random.Next()}, with comma\"").Append('\n');
        }

        return text.ToString();
    }
}
