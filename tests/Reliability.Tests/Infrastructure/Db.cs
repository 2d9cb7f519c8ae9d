using Npgsql;

namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>
/// Direct SQL against a test database, to see what really is in the queue and the catalog. Unpooled: a test
/// that restarts the server must not trip over a pooled connection the restart killed.
/// </summary>
public static class Db
{
    public static async Task<T?> ScalarAsync<T>(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Unpooled(connectionString));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public static async Task<List<object?[]>> RowsAsync(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Unpooled(connectionString));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>The queue rows of the given jobs, as the database holds them.</summary>
    public static async Task<IReadOnlyList<JobRow>> JobsAsync(string connectionString, IReadOnlyCollection<Guid> ids)
    {
        var rows = await RowsAsync(
            connectionString,
            "SELECT id, status, attempts, lease_owner, error->>'code', error->>'message' FROM datastack.jobs WHERE id = ANY($1)",
            ids.ToArray());
        return [.. rows.Select(r => new JobRow((Guid)r[0]!, (string)r[1]!, (int)r[2]!, (string?)r[3], (string?)r[4], (string?)r[5]))];
    }

    private static string Unpooled(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;

    /// <summary>Every table in the service's schemas (catalog, queue and data tables).</summary>
    public static async Task<IReadOnlyList<string>> TablesAsync(string connectionString)
    {
        var rows = await RowsAsync(
            connectionString,
            """
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
            """);
        return [.. rows.Select(r => (string)r[0]!)];
    }
}
