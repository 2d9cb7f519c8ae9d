using System.Globalization;
using System.Text;

namespace DataStack.Bench;

/// <summary>
/// The run's findings: one markdown table of measures against their targets, the raw samples behind each
/// median, and notes. Printed as it grows and written to <c>bench/results/&lt;timestamp&gt;.md</c> at the end.
/// </summary>
public sealed class Report
{
    private readonly List<(string Section, string Measure, string Value, string Target, string Verdict)> _rows = [];
    private readonly List<string> _samples = [];
    private readonly List<string> _notes = [];

    public required string Environment { get; init; }

    public static string Ms(double ms) => ms.ToString(ms >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture) + " ms";

    public static string Num(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Adds a measure; <paramref name="met"/> null means "no target" (informational).</summary>
    public void Add(string section, string measure, string value, string target = "", bool? met = null)
    {
        var verdict = met switch { true => "met", false => "**not met**", null => "" };
        _rows.Add((section, measure, value, target, verdict));
        Console.WriteLine($"  [{section}] {measure}: {value}{(target.Length > 0 ? $"  (target {target}: {verdict.Trim('*')})" : "")}");
    }

    public void AddSamples(string name, IEnumerable<double> samplesMs) =>
        _samples.Add($"- {name}: {string.Join(", ", samplesMs.Select(s => Num(s, "F0")))} ms");

    public void Note(string note)
    {
        _notes.Add(note);
        Console.WriteLine($"  note: {note}");
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# DataStack benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(Environment);
        md.AppendLine();
        md.AppendLine("| Section | Measure | Median / value | Target | Verdict |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var row in _rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {row.Section} | {row.Measure} | {row.Value} | {row.Target} | {row.Verdict} |");
        }

        if (_notes.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Notes");
            md.AppendLine();
            foreach (var note in _notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        if (_samples.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Samples (per round, in run order)");
            md.AppendLine();
            foreach (var sample in _samples)
            {
                md.AppendLine(sample);
            }
        }

        return md.ToString();
    }
}
