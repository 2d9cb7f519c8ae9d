using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace DataStack.Bench;

/// <summary>
/// Section 2: <c>datastack</c>'s <c>client.upload(DataFrame)</c> against <c>DataFrame.to_sql</c> (pandas +
/// SQLAlchemy, <c>postgresql+psycopg://</c>), default <c>method=None</c> and <c>method='multi'</c>, on the same
/// server. Each run is one <c>bench/pandas_bench.py</c> process; only the contender's call is timed.
/// to_sql gets fewer rows and its time is scaled linearly to the upload's row count (said in the report).
/// </summary>
public static class PandasBench
{
    public const double TargetSpeedup = 20;

    public static async Task RunAsync(BenchEnvironment env, BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== pandas: upload {options.UploadRows:N0} rows vs to_sql {options.ToSqlRows:N0} rows, {options.Rounds} rounds");
        await using var processing = await env.StartProcessingAsync(cancellationToken: cancellationToken);
        var script = Path.Combine(env.RepoRoot, "bench", "pandas_bench.py");
        var cs = new NpgsqlConnectionStringBuilder(env.Analytics);
        var uri = $"postgresql://{Uri.EscapeDataString(cs.Username!)}:{Uri.EscapeDataString(cs.Password!)}@{cs.Host}:{cs.Port}/{cs.Database}";

        var driver = "";
        Contender Python(string contender, int rows, string[] extra, Dictionary<string, string>? environment = null) => new(contender, async ct =>
        {
            var (seconds, used) = await RunScriptAsync(options.Python, script, [contender, "--rows", rows.ToString(System.Globalization.CultureInfo.InvariantCulture), .. extra], environment, ct);
            driver = contender == "upload" ? driver : used;
            return seconds * 1000 * options.UploadRows / rows; // scaled to the upload's rows (×1 for upload)
        });

        var contenders = new[]
        {
            Python("upload", options.UploadRows, ["--processing-url", processing.BaseAddress.ToString()], new() { ["DATASTACK_API_KEY"] = processing.ApiKey }),
            Python("to_sql", options.ToSqlRows, ["--analytics-uri", uri]),
            Python("to_sql_multi", options.ToSqlRows, ["--analytics-uri", uri]),
        };

        Dictionary<string, List<double>> samples;
        try
        {
            samples = await Contender.AlternateAsync(contenders, options.Rounds, cancellationToken);
        }
        catch (PrerequisiteMissingException ex)
        {
            report.Add("2 upload(DataFrame)", "upload vs to_sql", $"not measured: {ex.Message}", $"≥ {TargetSpeedup}×", false);
            return;
        }

        var section = $"2 upload(DataFrame) {options.UploadRows / 1e6:0.##}M rows";
        var upload = Stats.Median(samples["upload"]);
        var toSql = Stats.Median(samples["to_sql"]);
        var multi = Stats.Median(samples["to_sql_multi"]);
        var scale = options.UploadRows == options.ToSqlRows ? "" : $" (measured on {options.ToSqlRows:N0} rows, scaled ×{(double)options.UploadRows / options.ToSqlRows:0.##} linearly)";
        report.Add(section, "datastack client.upload(df), end to end incl. ingest job", Report.Ms(upload));
        report.Note($"to_sql ran on {driver} (the psycopg 3 dialect needs SQLAlchemy ≥ 2.0; Debian bookworm ships 1.4).");
        report.Add(section, $"df.to_sql, method=None (default){scale}", $"{Report.Ms(toSql)} → upload is {Report.Num(toSql / upload, "F1")}× faster", $"≥ {TargetSpeedup}× faster", toSql / upload >= TargetSpeedup);
        report.Add(section, $"df.to_sql, method='multi', chunksize=1000{scale}", $"{Report.Ms(multi)} → upload is {Report.Num(multi / upload, "F1")}× faster");
        foreach (var (name, list) in samples)
        {
            report.AddSamples($"pandas {name} (scaled)", list);
        }
    }

    private static async Task<(double Seconds, string Driver)> RunScriptAsync(
        string python, string script, string[] arguments, Dictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        startInfo.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            startInfo.Environment[key] = value;
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {python}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode == 3)
        {
            throw new PrerequisiteMissingException((await stderr).Trim());
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pandas_bench.py {arguments[0]} failed ({process.ExitCode}): {await stderr}");
        }

        var line = (await stdout).Trim().Split('\n')[^1];
        using var json = JsonDocument.Parse(line);
        return (json.RootElement.GetProperty("seconds").GetDouble(), json.RootElement.GetProperty("driver").GetString() ?? "");
    }
}
