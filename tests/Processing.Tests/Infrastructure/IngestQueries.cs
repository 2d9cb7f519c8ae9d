using DataStack.Processing.Jobs;

namespace DataStack.Processing.Tests.Infrastructure;

/// <summary>What the ingest tests read back from PostgreSQL about a dataset, and their setup upload.</summary>
internal static class IngestQueries
{
    /// <summary>Uploads <paramref name="csv"/> as <paramref name="name"/> and fails the test unless the job succeeds.</summary>
    public static async Task UploadOkAsync(this ProcessingApp app, string name, string csv)
    {
        var job = await app.UploadAndWaitAsync(name, csv);
        Assert.True(job.Status == JobStatus.Succeeded, $"Setting up {name} failed: {job.Error?.Code} {job.Error?.Message}");
    }

    /// <summary>Each column's name and type, as PostgreSQL reports them, in order.</summary>
    public static async Task<List<object?[]>> ColumnTypesAsync(this ProcessingApp app, string name) => await Sql.RowsAsync(
        app.ConnectionString,
        $"SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'datasets' AND table_name = '{name}' ORDER BY ordinal_position");

    public static async Task<object?[]> CatalogEntryAsync(this ProcessingApp app, string name) => (await Sql.RowsAsync(
        app.ConnectionString,
        $"SELECT columns::text, row_count, source, checksum, created_at, updated_at, job_id FROM datastack.datasets WHERE name = '{name}'")).Single();

    public static async Task<List<object?[]>> StagingTablesAsync(this ProcessingApp app, string name) => await Sql.RowsAsync(
        app.ConnectionString,
        $"SELECT tablename::text FROM pg_tables WHERE schemaname = 'datasets' AND tablename LIKE '{name}\\_\\_ingest\\_%'");

    /// <summary>
    /// A replace renames the old table to <c>replaced-{job id}</c> and drops it right after the job's commit,
    /// which is when the job is reported done: waits up to 10 s for the table to go, failing if it stays.
    /// </summary>
    public static Task AssertReplacedTableDroppedAsync(this ProcessingApp app, Guid jobId)
    {
        var table = $"datasets.\"replaced-{jobId:N}\"";
        return Poll.UntilAsync(
            async () => !await Sql.ScalarAsync<bool>(app.ConnectionString, "SELECT to_regclass($1) IS NOT NULL", table),
            TimeSpan.FromSeconds(10),
            $"{table} to be dropped after its job succeeded");
    }

    /// <summary>
    /// VACUUM (VERBOSE)'s page counts for a dataset's table: how many pages it has and how many VACUUM had to
    /// scan. A table whose rows were written frozen (COPY … FREEZE) has every page all-frozen, so VACUUM skips
    /// them all but the last (which it reads to see whether the table can be truncated).
    /// </summary>
    public static async Task<(int Remain, int Scanned)> VacuumPagesAsync(this ProcessingApp app, string name)
    {
        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        var notices = new List<string>();
        connection.Notice += (_, e) => notices.Add(e.Notice.MessageText);
        await using (var vacuum = new Npgsql.NpgsqlCommand($"VACUUM (VERBOSE) datasets.{name}", connection))
        {
            await vacuum.ExecuteNonQueryAsync();
        }

        var match = notices
            .Select(n => System.Text.RegularExpressions.Regex.Match(n, @"pages: \d+ removed, (\d+) remain, (\d+) scanned"))
            .FirstOrDefault(m => m.Success) ?? throw new InvalidOperationException($"No page counts in VACUUM's output: {string.Join(" | ", notices)}");
        return (int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
