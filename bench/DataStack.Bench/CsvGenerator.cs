using System.Globalization;
using System.Text;

namespace DataStack.Bench;

/// <summary>
/// The benchmark's input: a deterministic CSV (same seed, same bytes) of 8 columns that exercises every
/// part of ingest — integers, timestamps, text with quoted commas and doubled quotes, doubles, booleans,
/// and empty fields (NULL). <see cref="TableDefinition"/> is the table a person would make for it by hand.
/// </summary>
public static class CsvGenerator
{
    /// <summary>Bumped whenever the output changes, so cached files are regenerated.</summary>
    public const int Version = 1;

    public const string Header = "id,event_time,customer,amount,active,quantity,comment,score";

    /// <summary>The pre-made table of the <c>psql \copy</c> baseline: the types ingest is expected to infer.</summary>
    public const string TableDefinition =
        "id bigint, event_time timestamp, customer text, amount double precision, active boolean, quantity bigint, comment text, score double precision";

    private static readonly string[] s_firstNames = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis"];
    private static readonly string[] s_lastNames = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie"];
    private static readonly string[] s_comments =
    [
        "ok", "late delivery, refunded", "said \"thanks\"", "gift", "repeat customer", "damaged box, replaced", "n/a", "priority",
    ];

    /// <summary>Returns the path of the cached CSV with <paramref name="rows"/> rows in <paramref name="directory"/>, writing it first if needed.</summary>
    public static string Ensure(string directory, int rows)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"bench_v{Version}_{rows}.csv");
        if (!File.Exists(path))
        {
            var temp = path + ".tmp";
            Write(temp, rows);
            File.Move(temp, path, overwrite: true);
        }

        return path;
    }

    public static void Write(string path, int rows, ulong seed = 42)
    {
        var random = new SplitMix64(seed);
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 20) { NewLine = "\n" };
        writer.WriteLine(Header);
        var line = new StringBuilder(160);
        for (var id = 1; id <= rows; id++)
        {
            line.Clear();
            var culture = CultureInfo.InvariantCulture;

            // id, event_time (one event every ~3 s, to the second)
            line.Append(id).Append(',');
            line.Append(start.AddSeconds((id * 3L) + random.Next(3)).ToString("yyyy-MM-dd HH:mm:ss", culture)).Append(',');

            // customer: "Last, First" — the embedded comma forces quoting on every row
            line.Append('"').Append(s_lastNames[random.Next(s_lastNames.Length)]).Append(", ")
                .Append(s_firstNames[random.Next(s_firstNames.Length)]).Append('"').Append(',');

            // amount: money-like double, sometimes negative (refunds)
            var cents = (long)random.Next(1_000_000) - (random.Next(20) == 0 ? 1_000_000 : 0);
            line.Append((cents / 100.0).ToString("R", culture)).Append(',');

            // active: boolean
            line.Append(random.Next(2) == 0 ? "true" : "false").Append(',');

            // quantity: integer, 10 % empty
            if (random.Next(10) != 0)
            {
                line.Append(random.Next(500));
            }

            line.Append(',');

            // comment: text, 30 % empty; quoted when it holds a comma or a quote
            if (random.Next(10) >= 3)
            {
                AppendCsvField(line, s_comments[random.Next(s_comments.Length)]);
            }

            line.Append(',');

            // score: double with full precision, 5 % empty
            if (random.Next(20) != 0)
            {
                line.Append(random.NextDouble().ToString("R", culture));
            }

            writer.WriteLine(line);
        }
    }

    private static void AppendCsvField(StringBuilder line, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            line.Append(value);
            return;
        }

        line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    /// <summary>A tiny PRNG with a fixed algorithm, so the file does not depend on the runtime's Random.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong NextULong()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public int Next(int exclusiveMax) => (int)(NextULong() % (ulong)exclusiveMax);

        public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));
    }
}
