using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace DataStack.Bench;

/// <summary>
/// Section 2: <c>datastack</c>'s <c>client.upload(DataFrame)</c> against, on the same server:
/// <list type="bullet">
/// <item>PostgreSQL's own server-side binary COPY of the same rows (<c>COPY … FROM '&lt;file&gt;' WITH (FORMAT
/// binary)</c>, the file made once, untimed, from an uploaded copy): the physical limit;</item>
/// <item>the idiom experienced pandas users write, <c>df.to_csv</c> into psycopg's <c>COPY … FROM STDIN</c>;</item>
/// <item><c>DataFrame.to_sql</c> (pandas + SQLAlchemy), default <c>method=None</c> and <c>method='multi'</c>.</item>
/// </list>
/// Each Python run is one <c>bench/pandas_bench.py</c> process; only the contender's call is timed.
/// to_sql gets fewer rows and its time is scaled linearly to the upload's row count (said in the report).
/// All five alternate for the run's rounds; then upload and the server's COPY alternate as many rounds again.
/// </summary>
public static class PandasBench
{
    /// <summary>upload(df) at most this many times the server-side binary COPY of the same rows.</summary>
    public const double TargetOverServerCopy = 1.25;

    /// <summary>upload(df) at least this many times faster than to_sql (default method).</summary>
    public const double TargetSpeedup = 30;


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
            driver = contender.StartsWith("to_sql", StringComparison.Ordinal) ? used : driver;
            return seconds * 1000 * options.UploadRows / rows; // scaled to the upload's rows (×1 for upload)
        });

        var serverCopyFile = "";
        var upload = Python("upload", options.UploadRows, ["--processing-url", processing.BaseAddress.ToString()], new() { ["DATASTACK_API_KEY"] = processing.ApiKey });
        var contenders = new[]
        {
            upload,
            new Contender("server binary COPY", ct => ServerCopyAsync(env, serverCopyFile, ct)),
            Python("to_csv_copy", options.UploadRows, ["--analytics-uri", uri]),
            Python("to_sql", options.ToSqlRows, ["--analytics-uri", uri]),
            Python("to_sql_multi", options.ToSqlRows, ["--analytics-uri", uri]),
        };

        Dictionary<string, List<double>> samples;
        try
        {
            // Untimed: Processing is brought to its steady state first, as a long-running service is. Tiered
            // compilation re-compiles a method once it has run 30 times, and dynamic PGO does it twice (instrumented,
            // then optimised). 40 small uploads (20,000 rows, one process) cover most of the path, but a large upload
            // takes paths a small one never does (the database falling behind: sends that wait, back-pressure on the
            // body). Counted with DOTNET_JitStdOutFile, pairs of 1M-row uploads after the small ones still compiled
            // 4,779 methods, then 1,007, 482, 319, 145 and 42, while Processing's CPU per upload fell from 1.8 s to
            // ~250 ms. After only two full uploads, the median of five timed rounds still carried ~430 ms of it, on
            // the core the database needs. So twelve full uploads follow; they also leave the rows the server's
            // binary COPY file is made of.
            var warmUp = new Dictionary<string, string> { ["DATASTACK_API_KEY"] = processing.ApiKey };
            var url = processing.BaseAddress.ToString();
            await RunScriptAsync(options.Python, script, ["upload", "--rows", "20000", "--repeat", "40", "--processing-url", url], warmUp, cancellationToken);
            await RunScriptAsync(
                options.Python, script, ["upload", "--rows", options.UploadRows.ToString(System.Globalization.CultureInfo.InvariantCulture), "--repeat", "12", "--processing-url", url],
                warmUp, cancellationToken);

            serverCopyFile = Path.Combine(await env.ScalarAsync<string>("SELECT current_setting('data_directory')", cancellationToken), "bench_upload.bin");
            await env.ExecuteAsync($"COPY (SELECT * FROM datasets.bench_upload) TO '{serverCopyFile}' WITH (FORMAT binary)", cancellationToken);
            samples = await Contender.AlternateAsync(contenders, options.Rounds, cancellationToken);

            // The ratio to the server's COPY is the close one (the others are 7-170x apart), and single rounds on the
            // shared 2-core machine spread 40-60 %, so upload and the COPY get as many rounds again, the two alone.
            var pair = await Contender.AlternateAsync([upload, contenders[1]], options.Rounds, cancellationToken);
            foreach (var (name, list) in pair)
            {
                samples[name].AddRange(list);
            }
        }
        catch (PrerequisiteMissingException ex)
        {
            report.Add("2 upload(DataFrame)", "upload vs to_sql", $"not measured: {ex.Message}", $"≥ {TargetSpeedup}×", false);
            return;
        }

        var section = $"2 upload(DataFrame) {options.UploadRows / 1e6:0.##}M rows";
        var uploadMs = Stats.Median(samples["upload"]);
        var serverCopy = Stats.Median(samples["server binary COPY"]);
        var toCsvCopy = Stats.Median(samples["to_csv_copy"]);
        var toSql = Stats.Median(samples["to_sql"]);
        var multi = Stats.Median(samples["to_sql_multi"]);
        var scale = options.UploadRows == options.ToSqlRows ? "" : $" (measured on {options.ToSqlRows:N0} rows, scaled ×{(double)options.UploadRows / options.ToSqlRows:0.##} linearly)";
        report.Add(section, $"datastack client.upload(df), end to end incl. ingest job ({samples["upload"].Count} rounds)", Report.Ms(uploadMs));
        report.Add(
            section,
            "PostgreSQL alone: server-side COPY … FROM '<file>' WITH (FORMAT binary) of the same rows into an empty table (as many rounds)",
            $"{Report.Ms(serverCopy)} → upload costs {Report.Num(uploadMs / serverCopy)}×",
            $"upload ≤ {TargetOverServerCopy}×",
            uploadMs / serverCopy <= TargetOverServerCopy);
        report.Add(section, "df.to_csv + psycopg COPY FROM STDIN (table made by hand)", $"{Report.Ms(toCsvCopy)} → upload is {Report.Num(toCsvCopy / uploadMs, "F1")}× faster");
        report.Note($"to_sql ran on {driver} (the psycopg 3 dialect needs SQLAlchemy ≥ 2.0; Debian bookworm ships 1.4).");
        report.Add(section, $"df.to_sql, method=None (default){scale}", $"{Report.Ms(toSql)} → upload is {Report.Num(toSql / uploadMs, "F1")}× faster", $"≥ {TargetSpeedup}× faster", toSql / uploadMs >= TargetSpeedup);
        report.Add(section, $"df.to_sql, method='multi', chunksize=1000{scale}", $"{Report.Ms(multi)} → upload is {Report.Num(multi / uploadMs, "F1")}× faster");
        foreach (var (name, list) in samples)
        {
            report.AddSamples($"pandas {name}{(name.StartsWith("to_sql", StringComparison.Ordinal) ? " (scaled)" : "")}", list);
        }
    }

    /// <summary>
    /// PostgreSQL loading the rows with nothing in between: the server reads the binary COPY file from its own
    /// data directory. A fresh empty table is made untimed; only the COPY statement is timed.
    /// </summary>
    private static async Task<double> ServerCopyAsync(BenchEnvironment env, string file, CancellationToken cancellationToken)
    {
        await env.ExecuteAsync(
            "DROP TABLE IF EXISTS public.bench_server_copy; CREATE TABLE public.bench_server_copy (LIKE datasets.bench_upload)", cancellationToken);
        await using var connection = new NpgsqlConnection(env.AnalyticsAdmin);
        await connection.OpenAsync(cancellationToken);
        await using var copy = new NpgsqlCommand($"COPY public.bench_server_copy FROM '{file}' WITH (FORMAT binary)", connection) { CommandTimeout = 600 };
        var started = Stopwatch.GetTimestamp();
        await copy.ExecuteNonQueryAsync(cancellationToken);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
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
