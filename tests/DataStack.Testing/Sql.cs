using Npgsql;

namespace DataStack.Testing;

/// <summary>
/// Direct SQL against a test database, to check what really landed in PostgreSQL. Unpooled: a test that
/// restarts the server must not trip over a pooled connection the restart killed.
/// </summary>
public static class Sql
{
    public static async Task<T?> ScalarAsync<T>(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = Command(connection, sql, parameters);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public static async Task<List<object?[]>> RowsAsync(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = Command(connection, sql, parameters);
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

    public static async Task ExecuteAsync(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = Command(connection, sql, parameters);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }
}
