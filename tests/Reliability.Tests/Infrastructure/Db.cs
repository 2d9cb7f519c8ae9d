using DataStack.Testing;

namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>What really is in the queue and the catalog (over <see cref="Sql"/>).</summary>
public static class Db
{
    /// <summary>The queue rows of the given jobs, as the database holds them.</summary>
    public static async Task<IReadOnlyList<JobRow>> JobsAsync(string connectionString, IReadOnlyCollection<Guid> ids)
    {
        var rows = await Sql.RowsAsync(
            connectionString,
            "SELECT id, status, attempts, lease_owner, error->>'code', error->>'message' FROM datastack.jobs WHERE id = ANY($1)",
            ids.ToArray());
        return [.. rows.Select(r => new JobRow((Guid)r[0]!, (string)r[1]!, (int)r[2]!, (string?)r[3], (string?)r[4], (string?)r[5]))];
    }

    /// <summary>Every table in the service's schemas (catalog, queue and data tables).</summary>
    public static async Task<IReadOnlyList<string>> TablesAsync(string connectionString)
    {
        var rows = await Sql.RowsAsync(
            connectionString,
            """
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
            """);
        return [.. rows.Select(r => (string)r[0]!)];
    }

    /// <summary>The tables of schema <c>datasets</c>: the datasets, and any staged upload or set-aside table left behind.</summary>
    public static async Task<IReadOnlyList<string>> DatasetTablesAsync(string connectionString) =>
        [.. (await TablesAsync(connectionString)).Where(t => t.StartsWith("datasets.", StringComparison.Ordinal))];

    /// <summary>
    /// Waits (up to 60 s) until a <c>COPY FROM</c> is under way in the replicas' database, with at least one row in and,
    /// when <paramref name="atMostRows"/> is given, at most that many (so it cannot end before the test's next step).
    /// </summary>
    public static Task WaitUntilCopyingAsync(ReplicaSet set, string what, long atMostRows = long.MaxValue) => Poll.UntilAsync(
        async () => await Sql.ScalarAsync<long>(
            set.ConnectionString,
            "SELECT count(*) FROM pg_stat_progress_copy WHERE command = 'COPY FROM' AND tuples_processed BETWEEN 1 AND $1",
            atMostRows) > 0,
        TimeSpan.FromSeconds(60),
        what,
        () => set.DescribeReplicas());
}
